package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.PlacementRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service manager: the request flow in one place.
 *
 * <pre>
 * request -> directory: viable?                       no -> NEVER
 *         -> state table: VMs offering it
 *         -> reuse or create:
 *              ACTIVE with headroom for the tier      -> grant
 *              only busy ACTIVE ones                  -> grant on the least busy, and scale out in the
 *                                                        background within the tier's replicas
 *              none ACTIVE, work under way            -> join it (concurrent requests build once)
 *              none ACTIVE                            -> resume a SLEEPING one, else restore an ARCHIVED
 *                                                        one, else create: image, VM cap (evict), place,
 *                                                        stage the image on that host, define, start
 *              a VM started, resumed or restored      -> ACTIVE once its services answer on their endpoints
 *                                                        ({@link EndpointProbe}, no thread held meanwhile)
 *         -> wait until the caller's deadline; past it RETRY_LATER, and the work goes on
 * </pre>
 */
@Component(service = ServiceManager.class, configurationPid = FarmServiceManager.PID)
@Designate(ocd = FarmServiceManager.Config.class)
public class FarmServiceManager implements ServiceManager {

    static final String PID = "org.servicefarm.core";
    private static final Logger LOG = LoggerFactory.getLogger(FarmServiceManager.class);

    @ObjectClassDefinition(name = "ServiceFarm service manager",
            description = "How the manager answers requests: deadlines, the VM cap, VM sizes, tiers.")
    public @interface Config {
        @AttributeDefinition(name = "default deadline (ms)", description = "How long a request that names no "
                + "deadline waits for its VM before it is answered RETRY_LATER.")
        long deadline_default_ms() default 2000;

        @AttributeDefinition(name = "maximum deadline (ms)", description = "The longest deadline a caller may ask "
                + "for; longer ones are refused as malformed.")
        long deadline_max_ms() default 120_000;

        @AttributeDefinition(name = "VM cap", description = "The most VMs the farm holds at once, all hosts "
                + "together; past it the eviction policy chooses a VM to destroy before a new one is created.")
        int vm_cap() default 24;

        @AttributeDefinition(name = "VM vCPUs", description = "Virtual CPUs given to each new VM.")
        int vm_vcpus() default 1;

        @AttributeDefinition(name = "VM memory (MiB)", description = "Memory in MiB given to each new VM.")
        long vm_memoryMiB() default 256;

        @AttributeDefinition(name = "VM requests per minute", description = "The request rate at which one VM "
                + "counts as fully loaded; tiers compare a VM's share of it with their load threshold.")
        double vm_requestsPerMinute() default 600;

        @AttributeDefinition(description = "Customer tiers as name:maxReplicas:loadThreshold, comma-separated. "
                + "A tier's requests get a new replica when every VM of the offering is above the threshold "
                + "and fewer than maxReplicas exist.")
        String[] tiers() default {"free:1:1.0", "standard:2:0.8", "premium:4:0.5"};

        @AttributeDefinition(name = "default tier", description = "The tier of a request that names none.")
        String defaultTier() default "standard";

        @AttributeDefinition(name = "service ports", description = "The guest port each application listens on, "
                + "as service=port, comma-separated; '*' is the default.")
        String[] servicePorts() default {"*=80"};

        @AttributeDefinition(description = "Threads that create, resume and restore VMs in the background.")
        int workers() default 8;

        @AttributeDefinition(name = "creation estimate (ms)", description = "The first guess of how long creating "
                + "a VM takes, for Retry-After; replaced by measured times as VMs are created.")
        long estimate_create_ms() default 5000;

        @AttributeDefinition(name = "retry after a failure (s)", description = "Retry-After given when the farm "
                + "cannot serve now (no capacity, a host failed).")
        long retryAfter_failure_s() default 5;

        @AttributeDefinition(name = "probe timeout (ms)", description = "How long one try to reach a new or woken "
                + "VM's service may take: a TCP connect, an HTTP GET / and any HTTP status line back.")
        long probe_timeout_ms() default 2000;

        @AttributeDefinition(name = "probe interval (ms)", description = "The pause after a failed try before the "
                + "service is tried again.")
        long probe_interval_ms() default 250;

        @AttributeDefinition(name = "probe limit (ms)", description = "How long a new or woken VM's services may take "
                + "to answer in all; past it the creation or activation fails. Keep it well above a real guest's cold "
                + "boot under QEMU's emulation (8 to 26 s).")
        long probe_limit_ms() default 120_000;
    }

    /** A VM ready to serve, how it got there and, if it was created, whether it booted or restored a checkpoint. */
    record Ready(VmRecord vm, Activation activation, Outcome.Start start) {
        Ready(VmRecord vm, Activation activation) {
            this(vm, activation, null);
        }
    }

    /** Work under way for a request: what it does, when it started and how long it should take. */
    record Work(CompletableFuture<Ready> future, String doing, long startNanos, Duration expected) {
        static Work done(Ready ready) {
            return new Work(CompletableFuture.completedFuture(ready), "ready", System.nanoTime(), Duration.ZERO);
        }

        Duration retryAfter(long nowNanos) {
            Duration left = expected.minusNanos(nowNanos - startNanos);
            return left.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : left;
        }
    }

    /** The farm cannot take a new VM now; the request is answered RETRY_LATER with the reason. */
    static final class NoCapacityException extends Exception {
        private static final long serialVersionUID = 1L;

        NoCapacityException(String message) {
            super(message);
        }
    }

    /**
     * No host of the farm could ever run the offering's image (a composition only, where every host boots real guests):
     * the request is answered NEVER with the reason.
     */
    static final class NeverException extends Exception {
        private static final long serialVersionUID = 1L;

        NeverException(String message) {
            super(message);
        }
    }

    @Reference
    DirectoryView directory;
    @Reference
    StateTable stateTable;
    @Reference
    HostRegistry hosts;
    @Reference
    Placement placement;
    @Reference
    Eviction eviction;
    @Reference
    Popularity popularity;
    @Reference
    Checkpoints checkpoints;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;

    Clock clock = Clock.systemUTC();
    /**
     * The time VMs' request rates decay by ({@link LoadMeter}, nanoseconds). Tests that assert which VM counts as
     * busy hold it still: with the real clock a VM's load falls below a tier's threshold after seconds, so how long
     * a slow machine takes between two requests would decide the outcome.
     */
    java.util.function.LongSupplier loadClock = System::nanoTime;
    private volatile Settings settings;
    private ExecutorService workers;
    private EndpointProbe probe;
    private final Map<Offering, Work> creations = new ConcurrentHashMap<>();
    private final Map<String, Work> activations = new ConcurrentHashMap<>();
    private final Map<Offering, Object> offeringLocks = new ConcurrentHashMap<>();
    private final Map<String, LoadMeter> loads = new ConcurrentHashMap<>();
    private final Map<Activation, DurationEstimate> estimates = new ConcurrentHashMap<>();

    @Activate
    void activate(Config config) {
        settings = Settings.from(config);
        AtomicInteger threads = new AtomicInteger();
        workers = Executors.newFixedThreadPool(settings.workers(), r -> {
            Thread t = new Thread(r, "servicefarm-worker-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        probe = new EndpointProbe();
        estimates.put(Activation.CREATED, new DurationEstimate(settings.createEstimate()));
        estimates.put(Activation.RESUMED, new DurationEstimate(Duration.ofMillis(200)));
        estimates.put(Activation.RESTORED, new DurationEstimate(Duration.ofSeconds(2)));
    }

    @Modified
    void modified(Config config) {
        // the pool keeps its size until the next activation; everything else applies to the next request
        settings = Settings.from(config);
    }

    @Deactivate
    void deactivate() {
        workers.shutdownNow();
        probe.close();
        IllegalStateException stopping = new IllegalStateException("the service manager is stopping");
        creations.values().forEach(w -> w.future().completeExceptionally(stopping));
        activations.values().forEach(w -> w.future().completeExceptionally(stopping));
    }

    @Override
    public Outcome request(ServiceRequest request) {
        long startNanos = System.nanoTime();
        Settings s = settings;
        Settings.Tier tier = admit(request, s);
        Duration deadline = deadline(request, s);
        Resolution resolution = directory.resolve(request);
        if (resolution instanceof Resolution.NotViable notViable) {
            return new Outcome.Never(notViable.reason(), since(startNanos));
        }
        Resolution.Viable viable = (Resolution.Viable) resolution;
        Offering offering = viable.offering();
        popularity.record(offering);
        List<String> filledIn = viable.filledIn();
        Work work;
        try {
            work = serve(offering, tier);
        } catch (RuntimeException e) {
            LOG.warn("Request for {} could not be started", offering, e);
            return new Outcome.RetryLater(s.failureRetryAfter(), offering, filledIn, e.getMessage(), since(startNanos));
        }
        long left = deadline.toNanos() - (System.nanoTime() - startNanos);
        try {
            Ready ready = work.future().get(Math.max(0, left), TimeUnit.NANOSECONDS);
            VmRecord vm = recordGrant(ready.vm());
            return new Outcome.Granted(vm.endpoint(), vm.id(), vm.hostId(), ready.activation(), offering, filledIn,
                    since(startNanos), ready.start());
        } catch (TimeoutException e) {
            return new Outcome.RetryLater(work.retryAfter(System.nanoTime()), offering, filledIn, work.doing(),
                    since(startNanos));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof NeverException never) {
                return new Outcome.Never(never.getMessage(), since(startNanos));
            }
            return new Outcome.RetryLater(s.failureRetryAfter(), offering, filledIn, cause.getMessage(),
                    since(startNanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.RetryLater(work.retryAfter(System.nanoTime()), offering, filledIn, "interrupted while "
                    + work.doing(), since(startNanos));
        }
    }

    /** Decides how the offering will be served and returns the work that does it (maybe already done). */
    Work serve(Offering offering, Settings.Tier tier) {
        // the warm path takes no lock: an ACTIVE VM with headroom is granted at once
        Optional<VmRecord> idle = leastLoadedActive(stateTable.offering(offering), tier.loadThreshold());
        if (idle.isPresent()) {
            return Work.done(new Ready(idle.get(), Activation.ACTIVE));
        }
        synchronized (offeringLocks.computeIfAbsent(offering, k -> new Object())) {
            Plan plan = plan(offering, stateTable.offering(offering), tier);
            Work started = switch (plan.step()) {
                case RESUME -> activate(plan.subject(), Activation.RESUMED);
                case RESTORE -> activate(plan.subject(), Activation.RESTORED);
                case CREATE -> create(offering, tier);
                case NONE -> null;
            };
            if (plan.grant() != null) {
                return Work.done(new Ready(plan.grant(), Activation.ACTIVE));
            }
            return plan.join() != null ? plan.join() : started;
        }
    }

    /** How one more VM of an offering is brought into service. */
    enum Step { NONE, RESUME, RESTORE, CREATE }

    /**
     * What serving an offering takes now, decided from its VMs without acting (so {@link #explain} says what
     * {@link #serve} does): a VM to grant at once, or work under way to join, and a step that brings one more VM into
     * service in the background, on {@code subject} for a resume or restore.
     */
    record Plan(VmRecord grant, Work join, Step step, VmRecord subject) {
    }

    private Plan plan(Offering offering, List<VmRecord> vms, Settings.Tier tier) {
        Optional<VmRecord> idle = leastLoadedActive(vms, tier.loadThreshold());
        if (idle.isPresent()) {
            return new Plan(idle.get(), null, Step.NONE, null);
        }
        Work underWay = Optional.ofNullable(creations.get(offering)).orElseGet(() -> vms.stream()
                .map(vm -> activations.get(vm.id())).filter(Objects::nonNull).findFirst().orElse(null));
        Optional<VmRecord> busy = leastLoadedActive(vms, Double.POSITIVE_INFINITY);
        if (busy.isPresent()) {
            // every ACTIVE VM is busy: serve on the least busy now and scale out in the background
            return underWay == null ? scaleOut(busy.get(), vms, tier, false)
                    : new Plan(busy.get(), null, Step.NONE, null);
        }
        return underWay != null ? new Plan(null, underWay, Step.NONE, null) : scaleOut(null, vms, tier, true);
    }

    /**
     * Brings one more VM of the offering into service, the cheapest way first: resume a SLEEPING
     * one, restore an ARCHIVED one, or create one, the last only within the tier's replicas
     * unless no VM can serve at all.
     */
    private static Plan scaleOut(VmRecord grant, List<VmRecord> vms, Settings.Tier tier, boolean noneServes) {
        Optional<VmRecord> sleeping = mostRecentlyUsed(vms, VmState.SLEEPING);
        if (sleeping.isPresent()) {
            return new Plan(grant, null, Step.RESUME, sleeping.get());
        }
        Optional<VmRecord> archived = mostRecentlyUsed(vms, VmState.ARCHIVED);
        if (archived.isPresent()) {
            return new Plan(grant, null, Step.RESTORE, archived.get());
        }
        return new Plan(grant, null, noneServes || vms.size() < tier.maxReplicas() ? Step.CREATE : Step.NONE, null);
    }

    @Override
    public Explanation explain(ServiceRequest request) {
        long startNanos = System.nanoTime();
        Settings s = settings;
        Settings.Tier tier = admit(request, s);
        Resolution resolution = directory.resolve(request);
        if (resolution instanceof Resolution.NotViable notViable) {
            return new Explanation(null, List.of(), "answer NEVER: " + notViable.reason(), null, since(startNanos));
        }
        Resolution.Viable viable = (Resolution.Viable) resolution;
        Offering offering = viable.offering();
        Plan plan = plan(offering, stateTable.offering(offering), tier);
        List<String> action = new ArrayList<>();
        if (plan.grant() != null) {
            action.add("grant VM " + plan.grant().id() + " on " + plan.grant().hostId() + " (ACTIVE)");
        } else if (plan.join() != null) {
            action.add("wait for the work under way (" + plan.join().doing() + ")");
        }
        PlacementExplanation placed = null;
        String background = plan.grant() != null ? " in the background" : "";
        switch (plan.step()) {
            case RESUME -> action.add("wake SLEEPING VM " + plan.subject().id() + " on " + plan.subject().hostId()
                    + " (resume)" + background);
            case RESTORE -> action.add("wake ARCHIVED VM " + plan.subject().id() + " on " + plan.subject().hostId()
                    + " (restore)" + background);
            case CREATE -> {
                placed = placement.explain(placementRequest(offering, tier, s, null), imageStore.find(offering)
                        .map(image -> checkpoints.holders(image.id())).orElse(Set.of()));
                String cap = stateTable.capped() >= s.vmCap() ? ", evicting a VM to stay within the VM cap of "
                        + s.vmCap() : "";
                action.add(placed.chosen() != null ? "create a VM on host " + placed.chosen() + background + cap
                        : "answer RETRY_LATER: a new VM is needed but " + placed.reason());
            }
            case NONE -> {
                if (plan.grant() == null && plan.join() == null) {
                    action.add("answer RETRY_LATER: the tier allows no more replicas");
                }
            }
        }
        return new Explanation(offering, viable.filledIn(), String.join("; ", action), placed, since(startNanos));
    }

    /** The request's tier, once the request and its deadline are known to be acceptable. */
    private static Settings.Tier admit(ServiceRequest request, Settings s) {
        if (request == null) {
            throw new InvalidRequestException("a request is required");
        }
        Settings.Tier tier = s.tier(request.tier());
        Duration deadline = deadline(request, s);
        if (deadline.compareTo(s.maxDeadline()) > 0) {
            throw new InvalidRequestException("deadlineMs", "deadline " + deadline.toMillis() + " ms exceeds the maximum of "
                    + s.maxDeadline().toMillis() + " ms");
        }
        return tier;
    }

    private static Duration deadline(ServiceRequest request, Settings s) {
        return request.deadline() == null ? s.defaultDeadline() : request.deadline();
    }

    /** What placement needs to know of a new VM of the offering: its size, its tier and where its replicas are. */
    /** What placement is asked for a VM of {@code image}; for an explanation, whose image is not built, null. */
    private PlacementRequest placementRequest(Offering offering, Settings.Tier tier, Settings s, ImageRef image) {
        List<String> replicaHosts = stateTable.offering(offering).stream().map(VmRecord::hostId).toList();
        return image == null ? new PlacementRequest(offering, tier.name(), s.vmSize(), replicaHosts)
                : new PlacementRequest(offering, tier.name(), vmSize(s, image), replicaHosts, hosts.guestsFor(image));
    }

    private Optional<VmRecord> leastLoadedActive(List<VmRecord> vms, double loadThreshold) {
        long now = loadClock.getAsLong();
        VmRecord best = null;
        double bestLoad = Double.MAX_VALUE;
        for (VmRecord vm : vms) {
            // an ACTIVE VM without an endpoint (adopted from a host that did not know it) cannot be granted
            if (vm.state() != VmState.ACTIVE || vm.endpoint() == null) {
                continue;
            }
            LoadMeter meter = loads.get(vm.id());
            double load = meter == null ? 0 : meter.perMinute(now) / settings.requestsPerMinutePerVm();
            if (load <= loadThreshold && load < bestLoad) {
                best = vm;
                bestLoad = load;
            }
        }
        return Optional.ofNullable(best);
    }

    private static Optional<VmRecord> mostRecentlyUsed(List<VmRecord> vms, VmState state) {
        return vms.stream().filter(vm -> vm.state() == state)
                .max(Comparator.comparing(vm -> vm.lastUsedAt() == null ? vm.createdAt() : vm.lastUsedAt()));
    }

    private VmRecord recordGrant(VmRecord vm) {
        long now = loadClock.getAsLong();
        loads.computeIfAbsent(vm.id(), k -> new LoadMeter(now)).record(now);
        Instant when = clock.instant();
        return stateTable.update(vm.id(), row -> row.granted(when)).orElse(vm);
    }

    /** Resumes a SLEEPING or restores an ARCHIVED VM in the background. Called under the offering's lock. */
    private Work activate(VmRecord vm, Activation kind) {
        VmState resting = vm.state();
        VmState moving = kind == Activation.RESUMED ? VmState.RESUMING : VmState.RESTORING;
        Work work = new Work(new CompletableFuture<>(), (kind == Activation.RESUMED ? "resuming " : "restoring ")
                + vm.id() + " on " + vm.hostId(), System.nanoTime(), estimates.get(kind).get());
        stateTable.transition(vm.id(), moving, null);
        activations.put(vm.id(), work);
        submit(work, () -> {
            activations.remove(vm.id(), work);
            stateTable.transition(vm.id(), resting, null);
        }, () -> {
            try {
                HostConnection connection = hosts.connection(vm.hostId());
                Map<String, Endpoint> endpoints = kind == Activation.RESUMED ? connection.resume(vm.id())
                        : connection.restore(vm.id());
                VmRecord waking = stateTable.update(vm.id(), row -> row.withEndpoints(endpoints)).orElseThrow();
                serving(waking).whenCompleteAsync((answered, silent) -> {
                    Throwable failure = silent == null ? null : cause(silent);
                    if (failure == null) {
                        try {
                            VmRecord active = serveFrom(waking, null, () -> activations.remove(vm.id(), work));
                            estimates.get(kind).record(since(work.startNanos()));
                            work.future().complete(new Ready(active, kind));
                            return;
                        } catch (RuntimeException | Error e) { // the row vanished meanwhile: still an answer
                            failure = e;
                        }
                    }
                    // it runs but does not serve: broken, so it goes (putting it back would not be true)
                    String why = work.doing() + " failed: " + failure.getMessage();
                    LOG.warn("{}; destroying it", why);
                    activations.remove(vm.id(), work);
                    destroyQuietly(waking, VmState.FAILED, why);
                    work.future().completeExceptionally(failure);
                }, workers);
            } catch (Exception | Error e) { // whatever happens, joined requests must get an answer
                LOG.warn("{} failed: {}", work.doing(), e.getMessage());
                // the VM is still where it was: leave it there for the next attempt
                stateTable.transition(vm.id(), resting, work.doing() + " failed: " + e.getMessage());
                activations.remove(vm.id(), work);
                work.future().completeExceptionally(e);
            }
        });
        return work;
    }

    /** Creates a VM for the offering in the background. Called under the offering's lock. */
    private Work create(Offering offering, Settings.Tier tier) {
        Work work = new Work(new CompletableFuture<>(), "creating a VM for " + offering.key(), System.nanoTime(),
                estimates.get(Activation.CREATED).get());
        creations.put(offering, work);
        submit(work, () -> creations.remove(offering, work), () -> {
            VmRecord placed = null;
            try {
                Settings s = settings;
                Steps steps = new Steps(work.startNanos());
                List<VmSpec.GuestService> services =
                        List.of(new VmSpec.GuestService(offering.service(), s.guestPort(offering.service())));
                ImageRef image = imageStore.obtain(offering, services);
                steps.done("image");
                if (image.compositionOnly() && hosts.noneRunsCompositions()) {
                    throw new NeverException("no real image: " + (image.reason() == null
                            ? "image " + image.id() + " is a composition only" : image.reason())
                            + "; every host of the farm boots real guests");
                }
                placed = place(offering, tier, image);
                steps.done("place"); // with the VM cap's eviction, if a VM had to go
                HostConnection connection = hosts.connection(placed.hostId());
                // checkpoint > pre-built > built: the host's checkpoint of the image, if it restores one
                ImageRef start = checkpoints.startImage(image, placed.hostId(), connection);
                StagedImage staged = connection.stage(start);
                steps.done("stage");
                connection.define(new VmSpec(placed.id(), offering, staged, placed.resources().vcpus(),
                        placed.resources().memoryMiB(), services, placed.createdAt()));
                steps.done("define");
                stateTable.transition(placed.id(), VmState.STARTING, null);
                Map<String, Endpoint> endpoints = connection.start(placed.id());
                steps.done("start");
                VmRecord starting = stateTable.update(placed.id(), vm -> vm.withEndpoints(endpoints)
                        .withState(VmState.STARTING, "started; waiting for its services to answer")).orElseThrow();
                serving(starting).whenCompleteAsync((answered, silent) -> {
                    try {
                        if (silent == null) {
                            boolean restored = start.kind() == ImageRef.Kind.CHECKPOINT;
                            steps.done(restored ? "restore to first answer" : "boot to first answer");
                            created(starting, work, steps, restored ? start.id() : null);
                            return;
                        }
                    } catch (RuntimeException | Error e) { // the row vanished meanwhile: still an answer
                        creationFailed(offering, starting, work, e);
                        return;
                    }
                    creationFailed(offering, starting, work, cause(silent));
                }, workers);
            } catch (Exception | Error e) { // whatever happens, joined requests must get an answer
                creationFailed(offering, placed, work, e);
            }
        });
        return work;
    }

    /** @param checkpoint the checkpoint image it restored, or {@code null} when it booted */
    private void created(VmRecord vm, Work work, Steps steps, String checkpoint) {
        String took = (checkpoint == null ? "" : "from checkpoint " + checkpoint + " ") + steps;
        VmRecord active = serveFrom(vm, "created " + took, () -> creations.remove(vm.offering(), work));
        if (checkpoint == null) { // a restore's few hundred ms would make Retry-After promise too little for a boot
            estimates.get(Activation.CREATED).record(since(work.startNanos()));
        }
        LOG.info("Created {} for {} on {}: {}", active.id(), active.offering().key(), active.hostId(), took);
        work.future().complete(new Ready(active, Activation.CREATED,
                checkpoint == null ? Outcome.Start.BOOT : Outcome.Start.CHECKPOINT));
    }

    /**
     * How long each step of a creation took, from the moment the work began: shown in the log and as the new VM's
     * detail, e.g. {@code in 9120 ms: image 1200 ms, place 0 ms, stage 410 ms, define 20 ms, start 310 ms, boot to
     * first answer 7180 ms}.
     */
    static final class Steps {
        private final long startNanos;
        private long lastNanos;
        private final StringBuilder steps = new StringBuilder();

        Steps(long startNanos) {
            this.startNanos = startNanos;
            this.lastNanos = startNanos;
        }

        synchronized void done(String step) {
            long now = System.nanoTime();
            steps.append(steps.length() == 0 ? "" : ", ").append(step).append(' ')
                    .append((now - lastNanos) / 1_000_000).append(" ms");
            lastNanos = now;
        }

        @Override
        public synchronized String toString() {
            return "in " + (lastNanos - startNanos) / 1_000_000 + " ms: " + steps;
        }
    }

    /**
     * Makes the VM ACTIVE and ends the work that brought it there, as one step for {@link #serve}: under the offering's
     * lock, a request sees either the work under way or the ACTIVE VM, never both or neither.
     */
    private VmRecord serveFrom(VmRecord vm, String detail, Runnable endWork) {
        synchronized (offeringLocks.computeIfAbsent(vm.offering(), k -> new Object())) {
            VmRecord active = stateTable.transition(vm.id(), VmState.ACTIVE, detail).orElseThrow();
            endWork.run();
            return active;
        }
    }

    /** A creation failed at any step: the VM (if it was placed) goes, and joined requests get the failure. */
    private void creationFailed(Offering offering, VmRecord placed, Work work, Throwable failure) {
        creations.remove(offering, work);
        if (placed != null) {
            LOG.warn("Creating {} on {} failed: {}", placed.id(), placed.hostId(), failure.getMessage());
            destroyQuietly(placed, VmState.FAILED, "creation failed: " + failure.getMessage());
        }
        work.future().completeExceptionally(failure);
    }

    /**
     * Completes once every endpoint of the VM answers ({@link EndpointProbe}); fails at once when the driver reported
     * no endpoint for the VM's own service, which could never be granted.
     */
    private CompletableFuture<Void> serving(VmRecord vm) {
        if (vm.endpoint() == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("host " + vm.hostId()
                    + " reported no endpoint for service " + vm.offering().service()));
        }
        return probe.await(vm.endpoints(), settings.probe());
    }

    /** What failed, without the wrapper of a future's stage. */
    private static Throwable cause(Throwable failure) {
        return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
    }

    /** Runs the work's task, or undoes its registration if the manager is stopping and takes no more work. */
    private void submit(Work work, Runnable undo, Runnable task) {
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            undo.run();
            work.future().completeExceptionally(e);
            throw new IllegalStateException("the service manager is stopping", e);
        }
    }

    /**
     * Places a new VM and records it as CREATING: room on a host is reserved first ({@link Placement#place}), then a
     * slot under the VM cap (evicting a VM while the cap is reached), and the row takes both over. No global lock:
     * each is reserved atomically, so concurrent creations never over-commit a host nor exceed the cap, and
     * creations on different hosts do not wait for each other.
     */
    private VmRecord place(Offering offering, Settings.Tier tier, ImageRef image) throws NoCapacityException {
        Settings s = settings;
        PlacementRequest request = placementRequest(offering, tier, s, image);
        Placement.Decision decision = placement.place(request, checkpoints.holders(image.id()));
        if (decision.host().isEmpty()) {
            throw new NoCapacityException(decision.reason());
        }
        String host = decision.host().get().name();
        List<VmRecord> evicted;
        try {
            evicted = reserveCapSlot(offering, s);
        } catch (NoCapacityException | RuntimeException e) {
            placement.release(host, request);
            throw e;
        }
        VmRecord placed = new VmRecord(newVmId(), host, image.id(), offering, Map.of(), VmState.CREATING, request.demand(),
                clock.instant(), null, 0, "placed on " + host + " by " + decision.strategy());
        stateTable.putReserved(placed);
        for (VmRecord victim : evicted) {
            LOG.info("Evicting {} ({}) to stay within the VM cap", victim.id(), victim.offering().key());
            destroyQuietly(victim, VmState.DESTROYED, "evicted: VM cap reached");
        }
        return placed;
    }

    /**
     * Takes a slot under the VM cap, evicting a VM while the cap is reached, and returns the VMs it evicted. A victim
     * is marked DESTROYING only if it is still in the state it was chosen in (one being woken meanwhile stays), which
     * frees its slot; another creation may take that slot first, and then this one evicts again.
     */
    private List<VmRecord> reserveCapSlot(Offering offering, Settings s) throws NoCapacityException {
        List<VmRecord> evicted = new ArrayList<>();
        while (!stateTable.tryReserveSlot(s.vmCap())) {
            List<VmRecord> occupying = stateTable.occupying();
            // VMs gone by hypervisor events leave their meters behind: drop them when the cap is reached
            loads.keySet().retainAll(occupying.stream().map(VmRecord::id).collect(java.util.stream.Collectors.toSet()));
            VmRecord victim = chooseVictim(occupying, offering);
            java.util.concurrent.atomic.AtomicBoolean marked = new java.util.concurrent.atomic.AtomicBoolean();
            stateTable.update(victim.id(), vm -> {
                marked.set(vm.state() == victim.state());
                return marked.get() ? vm.withState(VmState.DESTROYING, "evicted: VM cap of " + s.vmCap() + " reached")
                        : vm;
            });
            if (marked.get()) {
                evicted.add(victim);
            }
        }
        return evicted;
    }

    /** The configured VM size, with at least the memory the image asks for. */
    static Capacity vmSize(Settings s, ImageRef image) {
        Capacity configured = s.vmSize();
        return image.minMemoryMiB() <= configured.memoryMiB() ? configured
                : new Capacity(configured.vcpus(), image.minMemoryMiB(), configured.vms());
    }

    private VmRecord chooseVictim(List<VmRecord> occupying, Offering forOffering) throws NoCapacityException {
        Map<String, VmRecord> evictable = new java.util.HashMap<>();
        for (VmRecord vm : occupying) {
            if (vm.state().reusable() && !activations.containsKey(vm.id()) && !vm.offering().equals(forOffering)) {
                evictable.put(vm.id(), vm);
            }
        }
        Duration rebuild = estimates.get(Activation.CREATED).get();
        List<EvictionCandidate> candidates = evictable.values().stream()
                .map(vm -> new EvictionCandidate(vm.id(), vm.createdAt(), vm.lastUsedAt(), vm.grants(),
                        vm.resources().memoryMiB() * 1024 * 1024, rebuild)).toList();
        for (EvictionCandidate candidate : eviction.rankVms(candidates, clock.instant())) {
            VmRecord vm = evictable.get(candidate.id());
            if (vm != null) {
                return vm;
            }
        }
        throw new NoCapacityException("the VM cap of " + settings.vmCap() + " is reached and "
                + (eviction.hasVmPolicy() ? "no VM may be evicted" : "no eviction policy is in force"));
    }

    private void destroyQuietly(VmRecord vm, VmState finalState, String detail) {
        try {
            hosts.connection(vm.hostId()).destroy(vm.id());
        } catch (Exception e) {
            LOG.warn("Destroying {} on {} failed: {}", vm.id(), vm.hostId(), e.getMessage());
        }
        stateTable.transition(vm.id(), finalState, detail);
        loads.remove(vm.id());
    }

    private static String newVmId() {
        return String.format("sf-%012x", ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL);
    }

    private static Duration since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    @Override
    public DirectoryView directory() {
        return directory;
    }

    @Override
    public StateTableView stateTable() {
        return stateTable;
    }

    @Override
    public List<HostStatus> hosts() {
        return hosts.statuses();
    }

    @Override
    public HostStatus registerHost(HostRecord host) {
        if (host == null) {
            throw new InvalidRequestException("a host is required");
        }
        return hosts.register(host);
    }

    @Override
    public HostStatus drain(String name, boolean drained) {
        return hosts.drain(name, drained);
    }

    @Override
    public void unregisterHost(String name) {
        // whether VMs occupy it is decided atomically with placement's reservations
        hosts.unregister(name);
    }
}
