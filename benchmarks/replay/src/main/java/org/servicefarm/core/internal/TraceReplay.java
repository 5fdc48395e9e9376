package org.servicefarm.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.osgi.util.converter.Converters;
import org.servicefarm.api.Activation;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;
import org.servicefarm.api.reuse.ReusePolicy;
import org.servicefarm.reuse.defaults.internal.DefaultReusePolicy;

/**
 * Replays a request trace through the real service manager, lifecycle and keep-alive policy on a virtual clock: the
 * core is wired as DS wires it in the appliance, over {@link SimulatedHypervisor} hosts, with its worker pool, deadline
 * timer and readiness probe replaced by the replay's events ({@link FarmServiceManager#workerPool},
 * {@link FarmServiceManager#deadlineTimer}, {@link FarmServiceManager#readiness}) and the lifecycle swept every sweep
 * interval of virtual time. No VM cap unless
 * one is given. Nothing waits: a day replays in seconds. With {@link Settings#checkpoints()} the hosts make
 * checkpoints (on the core's {@link Checkpoints} worker, on the virtual clock too) and the images are bootable ones
 * ({@link SimulatedImageStore}), as on qemu-driver hosts.
 * <p>
 * A request is cold when it is not answered at once by an ACTIVE or SLEEPING VM: its grant says CREATED or RESTORED
 * (it waited for a creation or a restore, or joined one under way), or it was not granted. Resident time is the time
 * VMs spent ACTIVE or SLEEPING (holding memory), pre-warmed ones included, up to the trace's end. With a warm-up
 * ({@link Settings#warmUp()}) the policies learn from the whole trace but only what happens after the warm-up is
 * counted: its requests, resident time, pre-warms, VMs created and disk work.
 */
final class TraceReplay {

    /** What one replay gives. */
    /**
     * @param coldStartRateP75Floor the least {@code coldStartRateP75} any policy can have on this trace when it starts
     *                              with no VM: each combination's first request is cold, so its rate is at least one
     *                              over its requests
     * @param residentGiBHours      resident time weighed by each application's memory ({@link ApplicationMemory}),
     *                              NaN when not known
     */
    record Result(String policy, String config, long requests, long coldStarts, double coldStartRate,
                  double coldStartRateP75, double coldStartRateP75Floor, double residentVmSeconds,
                  double residentGiBHours, long prewarms, double coldWaitSeconds, long vmsCreated,
                  SimulatedHypervisor.DiskWork disk, double replaySeconds, List<Combination> combinations) {

        Result withResidentGiBHours(double gibHours) {
            return new Result(policy, config, requests, coldStarts, coldStartRate, coldStartRateP75,
                    coldStartRateP75Floor, residentVmSeconds, gibHours, prewarms, coldWaitSeconds, vmsCreated, disk,
                    replaySeconds, combinations);
        }

        String json() {
            return String.format(java.util.Locale.ROOT, "{\"policy\":\"%s\",\"config\":\"%s\",\"requests\":%d,"
                            + "\"coldStarts\":%d,\"coldStartRate\":%.5f,\"coldStartRateP75\":%.5f,"
                            + "\"coldStartRateP75Floor\":%.5f,\"residentVmSeconds\":%.0f,%s\"prewarms\":%d,"
                            + "\"coldWaitSeconds\":%.1f,\"vmsCreated\":%d,\"archivesWritten\":%d,"
                            + "\"archiveGiBWritten\":%.1f,\"checkpointsMade\":%d,\"checkpointGiBWritten\":%.1f,"
                            + "\"checkpointStarts\":%d,"
                            + "\"replaySeconds\":%.1f}", policy, config.replace("\"", "'"), requests, coldStarts,
                    coldStartRate, coldStartRateP75, coldStartRateP75Floor, residentVmSeconds,
                    Double.isNaN(residentGiBHours) ? ""
                            : String.format(java.util.Locale.ROOT, "\"residentGiBHours\":%.1f,", residentGiBHours),
                    prewarms,
                    coldWaitSeconds, vmsCreated, disk.archivesWritten(),
                    disk.archiveBytesWritten() / (double) (1L << 30), disk.checkpointsMade(),
                    disk.checkpointBytesWritten() / (double) (1L << 30), disk.checkpointStarts(), replaySeconds);
        }
    }

    /** One combination's part of a result. */
    record Combination(String name, long requests, long coldStarts, double residentVmSeconds) {
    }

    /**
     * How the replay runs: the hypervisor's times, the lifecycle's sweep, the manager's settings beyond defaults, the
     * hosts per security zone, and whether the hosts make checkpoints and start new VMs from them (as the qemu driver's
     * do; libvirt's do not).
     */
    record Settings(SimulatedHypervisor.Timings timings, Duration sweep, Map<String, Object> manager, int hosts,
                    boolean checkpoints, Restart restart, Duration warmUp) {
        /** Hosts that make no checkpoints. */
        Settings(SimulatedHypervisor.Timings timings, Duration sweep, Map<String, Object> manager, int hosts) {
            this(timings, sweep, manager, hosts, false);
        }

        /** No restart. */
        Settings(SimulatedHypervisor.Timings timings, Duration sweep, Map<String, Object> manager, int hosts,
                 boolean checkpoints) {
            this(timings, sweep, manager, hosts, checkpoints, null, Duration.ZERO);
        }

        Settings withRestart(Restart restart) {
            return new Settings(timings, sweep, manager, hosts, checkpoints, restart, warmUp);
        }

        /** The first {@code warmUp} of the trace replayed but not counted. */
        Settings withWarmUp(Duration warmUp) {
            return new Settings(timings, sweep, manager, hosts, checkpoints, restart, warmUp);
        }

        static Settings defaults() {
            return new Settings(SimulatedHypervisor.Timings.MEASURED, Duration.ofSeconds(15), Map.of(), 4);
        }
    }

    /**
     * The keep-alive policy replaced by a new instance of itself {@code at} into the trace, as when the appliance
     * restarts (its VMs and the store's request counts survive it) or the policy's bundle is updated; the lifecycle
     * teaches the new one the last {@code historyHours} of the store's counts (0: it learns from nothing).
     */
    record Restart(Duration at, java.util.function.Supplier<KeepAlivePolicy> fresh, int historyHours) {
    }

    /** The trace's first instant on the virtual clock. */
    static final Instant START = Instant.parse("2026-01-05T00:00:00Z");
    /** Longer than any creation: requests wait for their VM instead of being told to retry. */
    private static final Duration DEADLINE = Duration.ofSeconds(120);

    private TraceReplay() {
    }

    /**
     * Replays {@code trace} under {@code policy}.
     *
     * @param name    the policy's name in the result
     * @param config  its configuration, as shown in the result
     * @param catalog the catalog's configuration (etc/org.servicefarm.catalog.cfg)
     */
    static Result replay(Trace trace, String name, String config, KeepAlivePolicy policy, Map<String, Object> catalog,
                         Settings settings) {
        long began = System.nanoTime();
        VirtualTime time = new VirtualTime(START.toEpochMilli());
        SimulatedHypervisor hypervisor = new SimulatedHypervisor(time, settings.timings(), settings.checkpoints());
        long countFrom = START.toEpochMilli() + settings.warmUp().toMillis();
        Resident resident = new Resident(time, countFrom);
        FarmEvents events = new FarmEvents();
        events.addListener(resident);

        HostIndex index = new HostIndex();
        StateTable table = new StateTable();
        table.hosts = index;
        table.store = new MemoryVmStore();
        table.clock = time;
        table.events = events;
        table.activate();
        CatalogDirectory directory = new CatalogDirectory();
        directory.configure(convert(catalog, CatalogDirectory.Config.class), catalog, null);
        HostRegistry hosts = new HostRegistry();
        hosts.stateTable = table;
        hosts.index = index;
        hosts.activate();
        Placement placement = new Placement();
        placement.index = index;
        placement.configure(convert(Map.of(), Placement.Config.class), null);
        placement.bindStrategy((request, view) -> view.ranked(Weights.of(Weigher.VMS), request),
                Map.of(PlacementStrategy.NAME, "fewest-vms"));
        hosts.addDriver(hypervisor, Map.of(HypervisorDriver.NAME, "sim"));
        for (int i = 0; i < settings.hosts(); i++) {
            for (String zone : List.of("standard", "high")) {
                Map<String, Object> host = new HashMap<>(Map.of("name", "sim-" + zone + "-" + i, "driver", "sim",
                        "uri", "sim:" + zone + i, "capacity.vms", 4096, "capacity.vcpus", 4096,
                        "capacity.memoryMiB", 4096L * 1024, "securityZone", zone));
                HostConfiguration configuration = new HostConfiguration();
                configuration.activate(convert(host, HostConfiguration.Config.class), host);
                hosts.addHost(configuration);
            }
        }
        Eviction eviction = new Eviction();
        eviction.bindVmPolicy((candidates, now) -> candidates.stream()
                .sorted(java.util.Comparator.comparing(EvictionCandidate::lastUsedAt)).toList());
        // a composition only is never checkpointed: with checkpoints, images as a store of bootable ones gives them
        org.servicefarm.api.image.ImageStore images = settings.checkpoints() ? new SimulatedImageStore()
                : new ComposedImageStore();
        Map<String, Object> managerConfig = new HashMap<>(Map.of("vm.cap", 1_000_000, "deadline.max.ms",
                DEADLINE.toMillis()));
        managerConfig.putAll(settings.manager());
        GuestPorts ports = new GuestPorts();
        ports.configure(convert(managerConfig, GuestPorts.Config.class), null);
        Checkpoints checkpoints = new Checkpoints();
        checkpoints.hosts = hosts;
        checkpoints.ports = ports;
        checkpoints.imageStore = images;
        checkpoints.placement = placement;
        checkpoints.workerFactory = time::scheduler;
        checkpoints.clock = time;
        checkpoints.activate(convert(managerConfig, Checkpoints.Config.class), null);
        Popularity popularity = new Popularity();
        popularity.imageStore = images;
        popularity.ports = ports;
        popularity.checkpoints = checkpoints;
        popularity.clock = time;
        popularity.configure(convert(Map.of(), Popularity.Config.class), null);
        Restart restart = settings.restart();
        SimulatedDemand demand = restart == null ? null : new SimulatedDemand();
        popularity.demand = demand; // counted only when a restart will read them, so other replays run as before

        // the appliance's reuse policy, as its default feature installs it
        Reuse reuse = new Reuse();
        reuse.bindPolicy(new DefaultReusePolicy(), Map.of(ReusePolicy.NAME, "default"));

        FarmServiceManager manager = new FarmServiceManager();
        manager.reuse = reuse;
        manager.directory = directory;
        manager.stateTable = table;
        manager.hosts = hosts;
        manager.placement = placement;
        manager.eviction = eviction;
        manager.imageStore = images;
        manager.events = events;
        manager.checkpoints = checkpoints;
        manager.natives = new NativeServices(); // a trace's offerings are served by VMs only
        manager.popularity = popularity;
        // drains go through it (none in a replay; no store to follow, so not activated: no thread of its own)
        manager.sharedHosts = new SharedHosts();
        manager.sharedHosts.registry = hosts;
        manager.clock = time;
        manager.loadClock = time::nanos;
        manager.workerPool = size -> time.executor();
        manager.readiness = hypervisor::readiness;
        manager.deadlineTimer = time::scheduler;
        manager.activate(convert(managerConfig, FarmServiceManager.Config.class), null);

        Lifecycle lifecycle = new Lifecycle();
        lifecycle.manager = manager;
        lifecycle.table = table;
        lifecycle.hosts = hosts;
        lifecycle.popularity = popularity;
        lifecycle.clock = time;
        lifecycle.demand = demand;
        lifecycle.bindPolicy(policy, Map.of(KeepAlivePolicy.NAME, name));
        // its own schedule never fires during a replay: the replay sweeps on the virtual clock
        lifecycle.activate(convert(Map.of("sweep.interval.s", 365L * 86_400, "reconcile.period.s", 0L,
                "history.h", restart == null ? 0 : restart.historyHours()), Lifecycle.Config.class), null);
        try {
            awaitConnected(hosts, settings.hosts() * 2);
            Answers answers = new Answers(trace, time, countFrom);
            SimulatedHypervisor.DiskWork[] diskBefore = {SimulatedHypervisor.DiskWork.NONE};
            long[] prewarmsBefore = {0};
            if (countFrom > START.toEpochMilli()) {
                time.at(countFrom, () -> {
                    diskBefore[0] = hypervisor.diskWork();
                    prewarmsBefore[0] = lifecycle.prewarms();
                });
            }
            long start = time.millis();
            long sweep = settings.sweep().toMillis();
            Runnable[] sweeper = new Runnable[1];
            sweeper[0] = () -> {
                lifecycle.sweep();
                time.after(settings.sweep(), sweeper[0]);
            };
            time.at(start + sweep, sweeper[0]);
            if (restart != null) {
                time.at(start + restart.at().toMillis(), () -> {
                    KeepAlivePolicy fresh = restart.fresh().get();
                    lifecycle.bindPolicy(fresh, Map.of(KeepAlivePolicy.NAME, name));
                    lifecycle.unbindPolicy(policy);
                });
            }
            for (int i = 0; i < trace.size(); i++) {
                time.runUntil(start + trace.times[i]);
                answers.ask(manager, i);
            }
            long horizon = start + trace.end();
            time.runUntil(horizon);
            resident.closeAt(horizon);
            // answers still under way (a creation past the last request) count as cold: let them finish
            time.runUntil(horizon + DEADLINE.toMillis());
            return answers.result(name, config, resident, lifecycle.prewarms() - prewarmsBefore[0],
                    hypervisor.diskWork().since(diskBefore[0]), (System.nanoTime() - began) / 1e9);
        } finally {
            lifecycle.deactivate();
            manager.deactivate();
            hosts.deactivate();
            checkpoints.deactivate();
        }
    }

    private static void awaitConnected(HostRegistry hosts, int count) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (hosts.statuses().size() < count || !hosts.statuses().stream().allMatch(HostStatus::connected)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the simulated hosts did not connect: " + hosts.statuses());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }

    /** Each request's answer: warm or cold, and how long a cold one waited, by combination. */
    private static final class Answers {
        private final Trace trace;
        private final VirtualTime time;
        private final long countFrom;
        private final ServiceRequest[] requests;
        private final long[] asked;
        private final long[] cold;
        private final String[] offerings;
        private long answered;
        private double coldWaitMillis;

        Answers(Trace trace, VirtualTime time, long countFrom) {
            this.trace = trace;
            this.time = time;
            this.countFrom = countFrom;
            this.requests = trace.requests.stream().map(r -> r.withDeadline(DEADLINE)).toArray(ServiceRequest[]::new);
            this.asked = new long[trace.names.size()];
            this.cold = new long[trace.names.size()];
            this.offerings = new String[trace.names.size()];
        }

        void ask(FarmServiceManager manager, int i) {
            int combination = trace.combinations[i];
            long at = time.millis();
            boolean counted = at >= countFrom;
            if (counted) {
                asked[combination]++;
            }
            manager.requestAsync(requests[combination]).whenComplete((outcome, failure) -> {
                if (outcome instanceof Outcome.Granted granted) {
                    offerings[combination] = granted.offering().key();
                }
                if (!counted) {
                    return;
                }
                answered++;
                boolean warm = outcome instanceof Outcome.Granted granted
                        && (granted.activation() == Activation.ACTIVE || granted.activation() == Activation.RESUMED);
                if (!warm) {
                    cold[combination]++;
                    coldWaitMillis += time.millis() - at;
                }
            });
        }

        Result result(String policy, String config, Resident resident, long prewarms,
                      SimulatedHypervisor.DiskWork disk, double replaySeconds) {
            long requests = Arrays.stream(asked).sum();
            // requests never answered (none should be) count as cold
            long coldStarts = Arrays.stream(cold).sum() + (requests - answered);
            double[] rates = new double[asked.length];
            double[] floors = new double[asked.length];
            int n = 0;
            for (int c = 0; c < asked.length; c++) {
                if (asked[c] > 0) {
                    // after a warm-up a combination's first counted request may be warm: no floor but zero
                    floors[n] = countFrom > TraceReplay.START.toEpochMilli() ? 0 : 1.0 / asked[c];
                    rates[n++] = (double) cold[c] / asked[c];
                }
            }
            List<Combination> combinations = new java.util.ArrayList<>();
            for (int c = 0; c < asked.length; c++) {
                combinations.add(new Combination(trace.names.get(c), asked[c], cold[c],
                        resident.byOffering.getOrDefault(offerings[c], 0L) / 1000.0));
            }
            return new Result(policy, config, requests, coldStarts, requests == 0 ? 0 : (double) coldStarts / requests,
                    percentile(Arrays.copyOf(rates, n), 75), percentile(Arrays.copyOf(floors, n), 75), resident.seconds(),
                    Double.NaN, prewarms, coldWaitMillis / 1000,
                    resident.created, disk, replaySeconds, combinations);
        }
    }

    /** The nearest-rank percentile: the smallest value with at least {@code p}% of the values at or below it. */
    static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return 0;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    /** Time VMs spend ACTIVE or SLEEPING, from the state table's row changes. */
    private static final class Resident implements FarmListener {
        private final VirtualTime time;
        private final long countFrom;
        private final Map<String, Long> holdingSince = new HashMap<>();
        /** Resident milliseconds by offering key. */
        final Map<String, Long> byOffering = new HashMap<>();
        private final Map<String, String> offeringOf = new HashMap<>();
        private final java.util.Set<String> seen = new java.util.HashSet<>();
        private long millis;
        private long closedAt = Long.MAX_VALUE;
        long created;

        Resident(VirtualTime time, long countFrom) {
            this.time = time;
            this.countFrom = countFrom;
        }

        @Override
        public void vmChanged(VmRecord vm) {
            long now = Math.min(time.millis(), closedAt);
            boolean holds = vm.state() == VmState.ACTIVE || vm.state() == VmState.SLEEPING;
            if (vm.state() == VmState.CREATING && seen.add(vm.id()) && now >= countFrom) {
                created++;
            }
            Long since = holdingSince.get(vm.id());
            if (holds && since == null) {
                holdingSince.put(vm.id(), now);
                offeringOf.put(vm.id(), vm.offering().key());
            } else if (!holds && since != null) {
                add(vm.id(), now - Math.max(countFrom, holdingSince.remove(vm.id())));
            }
        }

        /** Adds {@code held} ms, none when the VM was held before the warm-up's end only. */
        private void add(String vmId, long held) {
            if (held <= 0) {
                return;
            }
            millis += held;
            byOffering.merge(offeringOf.get(vmId), held, Long::sum);
        }

        void closeAt(long at) {
            holdingSince.forEach((id, since) -> add(id, at - Math.max(countFrom, since)));
            holdingSince.replaceAll((id, since) -> at);
            closedAt = at;
        }

        double seconds() {
            return millis / 1000.0;
        }
    }

    static <T> T convert(Map<String, Object> map, Class<T> type) {
        return Converters.standardConverter().convert(map).to(type);
    }

    /** A configuration file of the project's etc/, as the appliance ships it. */
    static Map<String, Object> shippedConfig(Path etc, String file) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(etc.resolve(file))) {
            properties.load(in);
        }
        Map<String, Object> map = new HashMap<>();
        properties.forEach((k, v) -> map.put((String) k, v));
        return map;
    }
}
