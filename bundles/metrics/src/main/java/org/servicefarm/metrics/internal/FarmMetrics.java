package org.servicefarm.metrics.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.metrics.Metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The farm's metrics in one Micrometer registry, written as Prometheus text by {@link #scrape}.
 * <ul>
 * <li>Answers are counted as they happen ({@link FarmListener#answered}): {@code servicefarm_requests_total} by
 * outcome and activation, and {@code servicefarm_request_seconds} a histogram by outcome.</li>
 * <li>The rest is read at each scrape from the manager's read views, so a scrape is always true even for what
 * changed outside any request (hypervisor events, adoption): VMs by state, each host's use and capacity, images by
 * state, the image store's bytes.</li>
 * <li>Keep-alive decisions are counted as the lifecycle carries them out ({@link FarmListener#keepAliveDecided}):
 * {@code servicefarm_keepalive_decisions_total} by {@code policy} (the policy's name) and {@code decision}
 * ({@code KEEP}, {@code SLEEP}, {@code ARCHIVE_SAVED}, {@code ARCHIVE_COMPRESSED}, {@code ARCHIVE_DELTA},
 * {@code DESTROY}, {@code PREWARM}).</li>
 * <li>Staged content the hosts deleted ({@link FarmListener#unstaged}): {@code servicefarm_staged_unstaged_total} and
 * {@code servicefarm_staged_unstaged_bytes_total} by {@code host}; each host's staging space as its status last read
 * it ({@link HostStatus#staging}): {@code servicefarm_host_staging_capacity_bytes} and
 * {@code servicefarm_host_staging_available_bytes}.</li>
 * </ul>
 * Served by REST's {@code /metrics} and the shell's farm:metrics through the API's {@link Metrics}.
 */
@Component(service = {FarmListener.class, FarmMetrics.class, Metrics.class})
public class FarmMetrics implements FarmListener, Metrics {

    /** Every outcome's series exist from the start, so a dashboard's rate() has a zero to start from. */
    private static final List<String> OUTCOMES = List.of("GRANTED", "RETRY_LATER", "NEVER");

    /**
     * Optional and dynamic: the manager tells its listeners, this among them, so a mandatory reference would be a
     * cycle (the manager's events wait for this listener, which would wait for the manager).
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ServiceManager manager;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageService images;

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MultiGauge vms;
    private final java.util.Map<String, Counter> requests = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Map<String, Timer> latencies = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Map<String, Counter> keepAlive = new java.util.concurrent.ConcurrentHashMap<>();
    private final MultiGauge hostVms;
    private final MultiGauge hostVmCapacity;
    private final MultiGauge hostMemory;
    private final MultiGauge hostMemoryCapacity;
    private final MultiGauge hostLoad;
    private final MultiGauge hostConnected;
    private final MultiGauge imagesByState;
    private final MultiGauge imageBytes;
    private final MultiGauge hostStagingCapacity;
    private final MultiGauge hostStagingAvailable;

    public FarmMetrics() {
        for (String outcome : OUTCOMES) {
            latency(outcome);
        }
        vms = MultiGauge.builder("servicefarm.vms").description("VMs in the state table by state").register(registry);
        hostVms = MultiGauge.builder("servicefarm.host.vms").description("VMs placed on each host")
                .register(registry);
        hostVmCapacity = MultiGauge.builder("servicefarm.host.vms.capacity").description("VM slots of each host")
                .register(registry);
        hostMemory = MultiGauge.builder("servicefarm.host.memory").baseUnit("bytes")
                .description("memory the VMs placed on each host take").register(registry);
        hostMemoryCapacity = MultiGauge.builder("servicefarm.host.memory.capacity").baseUnit("bytes")
                .description("memory of each host").register(registry);
        hostLoad = MultiGauge.builder("servicefarm.host.load")
                .description("largest share of any resource in use on each host, 0 to 1").register(registry);
        hostConnected = MultiGauge.builder("servicefarm.host.connected")
                .description("1 while the host's driver is connected, else 0").register(registry);
        imagesByState = MultiGauge.builder("servicefarm.images").description("images in the image store by state "
                + "(BUILDING: builds in progress)").register(registry);
        imageBytes = MultiGauge.builder("servicefarm.image.store").baseUnit("bytes")
                .description("bytes the image store's images take, by state").register(registry);
        hostStagingCapacity = MultiGauge.builder("servicefarm.host.staging.capacity").baseUnit("bytes")
                .description("size of the place each host stages in, as last read").register(registry);
        hostStagingAvailable = MultiGauge.builder("servicefarm.host.staging.available").baseUnit("bytes")
                .description("what can still be written where each host stages, as last read")
                .register(registry);
    }

    @Override
    public void answered(ServiceRequest request, Outcome outcome) {
        String name = outcomeName(outcome);
        String activation = outcome instanceof Outcome.Granted granted ? granted.activation().name() : "NONE";
        // every warm grant passes here: the meters are looked up once per kind, not built and registered each time
        requests.computeIfAbsent(name + "/" + activation, k -> Counter.builder("servicefarm.requests")
                .description("requests answered, by outcome and activation")
                .tags("outcome", name, "activation", activation).register(registry)).increment();
        latencies.computeIfAbsent(name, this::latency)
                .record(outcome.elapsed() == null ? Duration.ZERO : outcome.elapsed());
    }

    @Override
    public void keepAliveDecided(String policy, KeepAlive decision, ArchiveTier tier) {
        String name = tier == null ? decision.name() : decision.name() + "_" + tier.name();
        String by = policy == null ? "none" : policy;
        // once per VM at rest per sweep: looked up, not built and registered each time
        keepAlive.computeIfAbsent(by + "/" + name, k -> Counter.builder("servicefarm.keepalive.decisions")
                .description("keep-alive decisions the lifecycle carried out, by policy and decision")
                .tags("policy", by, "decision", name).register(registry)).increment();
    }

    @Override
    public void unstaged(String host, String label, long bytes) {
        Counter.builder("servicefarm.staged.unstaged").description("staged contents deleted from hosts: no image "
                + "of the store needing them, or no VM of the host while it ran short of space").tags("host", host)
                .register(registry).increment();
        if (bytes > 0) {
            Counter.builder("servicefarm.staged.unstaged.bytes").description("bytes of staged content deleted from "
                    + "hosts: no image of the store needing it, or no VM of the host while it ran short of space")
                    .baseUnit("bytes").tags("host", host)
                    .register(registry).increment(bytes);
        }
    }

    private Timer latency(String outcome) {
        return Timer.builder("servicefarm.request").description("time from a request to its answer, by outcome")
                .tags("outcome", outcome).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2))
                .register(registry);
    }

    static String outcomeName(Outcome outcome) {
        if (outcome instanceof Outcome.Granted) {
            return "GRANTED";
        }
        return outcome instanceof Outcome.RetryLater ? "RETRY_LATER" : "NEVER";
    }

    /** The Prometheus text (format 0.0.4) of every metric, read views refreshed first. */
    @Override
    public String scrape() {
        refresh();
        return registry.scrape();
    }

    private synchronized void refresh() {
        Map<VmState, Integer> byState = new EnumMap<>(VmState.class);
        for (VmState state : VmState.values()) {
            byState.put(state, 0);
        }
        ServiceManager farm = manager;
        for (VmRecord vm : farm == null ? List.<VmRecord>of() : farm.stateTable().vms()) {
            byState.merge(vm.state(), 1, Integer::sum);
        }
        List<MultiGauge.Row<?>> vmRows = new ArrayList<>();
        byState.forEach((state, n) -> vmRows.add(MultiGauge.Row.of(Tags.of("state", state.name()), n)));
        vms.register(vmRows, true);

        List<MultiGauge.Row<?>> used = new ArrayList<>();
        List<MultiGauge.Row<?>> slots = new ArrayList<>();
        List<MultiGauge.Row<?>> memory = new ArrayList<>();
        List<MultiGauge.Row<?>> memoryCapacity = new ArrayList<>();
        List<MultiGauge.Row<?>> load = new ArrayList<>();
        List<MultiGauge.Row<?>> connected = new ArrayList<>();
        List<MultiGauge.Row<?>> stagingCapacity = new ArrayList<>();
        List<MultiGauge.Row<?>> stagingAvailable = new ArrayList<>();
        for (HostStatus host : farm == null ? List.<HostStatus>of() : farm.hosts()) {
            Tags tags = Tags.of("host", host.name());
            StagingSpace space = host.staging();
            if (space != null) {
                stagingCapacity.add(MultiGauge.Row.of(tags, space.capacityBytes()));
                stagingAvailable.add(MultiGauge.Row.of(tags, space.availableBytes()));
            }
            used.add(MultiGauge.Row.of(tags, host.used().vms()));
            slots.add(MultiGauge.Row.of(tags, host.host().capacity().vms()));
            memory.add(MultiGauge.Row.of(tags, host.used().memoryMiB() * 1024 * 1024));
            memoryCapacity.add(MultiGauge.Row.of(tags, host.host().capacity().memoryMiB() * 1024 * 1024));
            load.add(MultiGauge.Row.of(tags, host.load()));
            connected.add(MultiGauge.Row.of(tags, host.connected() ? 1 : 0));
        }
        hostVms.register(used, true);
        hostVmCapacity.register(slots, true);
        hostMemory.register(memory, true);
        hostMemoryCapacity.register(memoryCapacity, true);
        hostLoad.register(load, true);
        hostConnected.register(connected, true);
        hostStagingCapacity.register(stagingCapacity, true);
        hostStagingAvailable.register(stagingAvailable, true);

        Map<ImageStatus.State, Integer> imageCount = new EnumMap<>(ImageStatus.State.class);
        Map<ImageStatus.State, Long> bytes = new EnumMap<>(ImageStatus.State.class);
        for (ImageStatus.State state : ImageStatus.State.values()) {
            imageCount.put(state, 0);
            bytes.put(state, 0L);
        }
        ImageService imageService = images;
        if (imageService != null) {
            for (ImageStatus image : imageService.images()) {
                imageCount.merge(image.state(), 1, Integer::sum);
                bytes.merge(image.state(), image.sizeBytes(), Long::sum);
            }
        }
        List<MultiGauge.Row<?>> imageRows = new ArrayList<>();
        List<MultiGauge.Row<?>> byteRows = new ArrayList<>();
        imageCount.forEach((state, n) -> imageRows.add(MultiGauge.Row.of(Tags.of("state", state.name()), n)));
        bytes.forEach((state, n) -> byteRows.add(MultiGauge.Row.of(Tags.of("state", state.name()), n)));
        imagesByState.register(imageRows, true);
        imageBytes.register(byteRows, true);
    }
}
