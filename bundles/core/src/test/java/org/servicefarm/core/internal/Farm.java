package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.BooleanSupplier;

import org.osgi.util.converter.Converters;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionPolicy;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;

/** A core wired by hand, as DS would wire it, on the shipped catalog and the fake hypervisor. */
final class Farm implements AutoCloseable {

    final FakeHypervisor hypervisor;
    final HostIndex index = new HostIndex();
    /** The farm's time: tests move it instead of sleeping (timers, the VM cap's recency, popularity). */
    final VirtualClock clock = new VirtualClock();
    final MemoryVmStore store = new MemoryVmStore();
    final StateTable table = new StateTable();
    final CatalogDirectory directory = new CatalogDirectory();
    final HostRegistry hosts = new HostRegistry();
    final Placement placement = new Placement();
    final Reuse reuse = new Reuse();
    final org.servicefarm.reuse.defaults.internal.DefaultReusePolicy defaultReuse =
            new org.servicefarm.reuse.defaults.internal.DefaultReusePolicy();
    final Eviction eviction = new Eviction();
    final FarmServiceManager manager = new FarmServiceManager();
    final ComposedImageStore images = new ComposedImageStore();
    final GuestPorts ports = new GuestPorts();
    final Popularity popularity = new Popularity();
    final Checkpoints checkpoints = new Checkpoints();
    /** No native service unless a test adds one ({@link NativeServices#add}); not started: tests probe as they need. */
    final NativeServices natives = new NativeServices();
    final FakeConfigurationAdmin configurations = new FakeConfigurationAdmin(hosts);

    Farm(Map<String, Object> managerConfig) {
        this(managerConfig, new FakeHypervisor());
    }

    /** A core over the guests of {@code hypervisor}: what an appliance finds when it restarts. */
    Farm(Map<String, Object> managerConfig, FakeHypervisor hypervisor) {
        this(managerConfig, hypervisor, Map.of());
    }

    /** A core whose three hosts have {@code hostProperties} as their driver properties. */
    Farm(Map<String, Object> managerConfig, FakeHypervisor hypervisor, Map<String, String> hostProperties) {
        this(managerConfig, hypervisor, hostProperties, List.of());
    }

    /** A core that starts on a store holding {@code storedRows}: an appliance restarting on its database. */
    Farm(Map<String, Object> managerConfig, FakeHypervisor hypervisor, Map<String, String> hostProperties,
         List<VmRecord> storedRows) {
        this.hypervisor = hypervisor;
        storedRows.forEach(store::insert);
        Map<String, Object> catalog = shippedConfig("org.servicefarm.catalog.cfg");
        directory.configure(convert(catalog, CatalogDirectory.Config.class), catalog, null);
        table.hosts = index;
        table.store = store;
        table.clock = clock;
        table.activate();
        hosts.stateTable = table;
        hosts.index = index;
        hosts.activate();
        placement.index = index;
        placement.configure(convert(Map.of(), Placement.Config.class), null);
        hosts.configurationAdmin = configurations.service();
        hosts.addDriver(hypervisor, Map.of(HypervisorDriver.NAME, "fake"));
        addHost("small", 2, 0.10, "standard", hostProperties);
        addHost("large", 8, 0.50, "standard", hostProperties);
        addHost("vault", 4, 0.90, "high", hostProperties);
        // the test's strategy: fewest VMs, then name — the real strategies are tested in their bundles
        placement.bindStrategy((request, view) -> view.ranked(Weights.of(Weigher.VMS), request),
                Map.of(PlacementStrategy.NAME, "fewest-vms"));
        Filters.all().forEach((name, filter) -> placement.addFilter(filter, Map.of(HostFilter.NAME, name)));
        eviction.bindVmPolicy(leastRecentlyUsed());
        // the appliance's default reuse policy, as its feature installs it
        reuse.bindPolicy(defaultReuse, Map.of(org.servicefarm.api.reuse.ReusePolicy.NAME, "default"));
        manager.reuse = reuse;
        manager.directory = directory;
        manager.stateTable = table;
        manager.hosts = hosts;
        manager.sharedHosts = new SharedHosts();
        manager.sharedHosts.registry = hosts;
        manager.placement = placement;
        manager.eviction = eviction;
        manager.imageStore = images;
        Map<String, Object> config = new HashMap<>(Map.of("estimate.create.ms", 1000));
        config.putAll(managerConfig);
        ports.configure(convert(config, GuestPorts.Config.class), null);
        checkpoints.hosts = hosts;
        checkpoints.ports = ports;
        checkpoints.imageStore = images;
        checkpoints.placement = placement;
        checkpoints.activate(convert(config, Checkpoints.Config.class), null);
        manager.checkpoints = checkpoints;
        natives.zones = (SecurityZoneFilter) Filters.all().get("security-zone");
        natives.directory = directory;
        manager.natives = natives;
        manager.sharedNatives = new SharedNatives(); // no store keeps them: this appliance's alone
        manager.sharedNatives.natives = natives;
        popularity.imageStore = images;
        popularity.ports = ports;
        popularity.checkpoints = checkpoints;
        popularity.clock = clock;
        popularity.configure(convert(Map.of(), Popularity.Config.class), null);
        manager.popularity = popularity;
        manager.clock = clock;
        manager.activate(convert(config, FarmServiceManager.Config.class), null);
        await("hosts connected", () -> hosts.statuses().size() == 3
                && hosts.statuses().stream().allMatch(HostStatus::connected), () -> hosts.statuses().toString());
    }

    /**
     * The lifecycle sweeper with {@code config} and the fixed-timer policy with the same map, on the farm's clock; its
     * own schedule never fires in a test.
     */
    Lifecycle lifecycle(Map<String, Object> config) {
        Lifecycle lifecycle = new Lifecycle();
        lifecycle.manager = manager;
        lifecycle.table = table;
        lifecycle.hosts = hosts;
        lifecycle.popularity = popularity;
        lifecycle.clock = clock;
        Map<String, Object> all = new HashMap<>(Map.of("sweep.interval.s", 86_400L, "reconcile.period.s", 0L));
        all.putAll(config);
        // the timers are the fixed policy's configuration, given in the same map
        org.servicefarm.keepalive.fixed.internal.FixedKeepAlive timers =
                new org.servicefarm.keepalive.fixed.internal.FixedKeepAlive();
        timers.configure(convert(all, org.servicefarm.keepalive.fixed.internal.FixedKeepAlive.Config.class), null);
        lifecycle.bindPolicy(timers, Map.of(org.servicefarm.api.keepalive.KeepAlivePolicy.NAME, "fixed"));
        lifecycle.activate(convert(all, Lifecycle.Config.class), null);
        lifecycles.add(lifecycle);
        return lifecycle;
    }

    private final List<Lifecycle> lifecycles = new java.util.ArrayList<>();

    void addHost(String name, int vms, double cost, String zone) {
        addHost(name, vms, cost, zone, Map.of());
    }

    /** A host with driver properties ({@code hypervisor.*} keys), e.g. {@code bits} for one that boots real guests. */
    void addHost(String name, int vms, double cost, String zone, Map<String, String> properties) {
        addHost(name, vms, 16384, cost, zone, properties);
    }

    /** {@link #addHost(String, int, double, String, Map)} with {@code memoryMiB} of memory. */
    void addHost(String name, int vms, long memoryMiB, double cost, String zone, Map<String, String> properties) {
        Map<String, Object> config = new HashMap<>(Map.of("name", name, "driver", "fake", "uri", "fake:///" + name,
                "capacity.vms", vms, "capacity.memoryMiB", memoryMiB, "costPerHour", cost, "securityZone", zone));
        properties.forEach((k, v) -> config.put(HostConfiguration.DRIVER_PREFIX + k, v));
        HostConfiguration host = new HostConfiguration();
        host.activate(convert(config, HostConfiguration.Config.class), config);
        hosts.addHost(host);
    }

    static EvictionPolicy leastRecentlyUsed() {
        return (candidates, now) -> candidates.stream()
                .sorted(java.util.Comparator.comparing(EvictionCandidate::lastUsedAt)).toList();
    }

    static <T> T convert(Map<String, Object> map, Class<T> type) {
        return Converters.standardConverter().convert(map).to(type);
    }

    /** A configuration file from the project's etc/, as the appliance ships it. */
    static Map<String, Object> shippedConfig(String file) {
        Path path = Path.of("..", "..", "etc", file);
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(path)) {
            properties.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + path.toAbsolutePath(), e);
        }
        Map<String, Object> map = new HashMap<>();
        properties.forEach((k, v) -> map.put((String) k, v));
        return map;
    }

    /** Waits for a condition; the bound only matters when the test fails, so it leaves a loaded machine room. */
    static void await(String what, BooleanSupplier condition) {
        await(what, condition, () -> "");
    }

    /** Waits for {@code condition}; on a time-out the failure says what {@code state} was. */
    static void await(String what, BooleanSupplier condition, java.util.function.Supplier<String> state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what + " " + state.get());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }

    Optional<HostStatus> host(String name) {
        return hosts.status(name);
    }

    List<org.servicefarm.api.VmRecord> vms() {
        return table.vms();
    }

    @Override
    public void close() {
        stop();
        hypervisor.close();
    }

    /** Stops the core, as a crash or a restart would; the hypervisor and its guests carry on. */
    void stop() {
        lifecycles.forEach(Lifecycle::deactivate);
        manager.deactivate();
        checkpoints.deactivate();
        hosts.deactivate();
    }
}
