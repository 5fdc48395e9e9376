package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Activation;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.GuestKind;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReuseExplanation;
import org.servicefarm.api.reuse.ReuseRequest;
import org.servicefarm.api.reuse.ReuseTier;
import org.servicefarm.api.store.FarmKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service manager: the request flow in one place.
 *
 * <pre>
 * request -> directory: viable?                       no -> NEVER
 *         -> state table: VMs offering it
 *         -> reuse or create, as the reuse policy in force decides ({@link Reuse}); reuse-default:
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
@Component(service = {ServiceManager.class, LocalServiceManager.class, FarmServiceManager.class},
        configurationPid = FarmServiceManager.PID)
@Designate(ocd = FarmServiceManager.Config.class)
public class FarmServiceManager implements LocalServiceManager {

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

        @AttributeDefinition(name = "checkpoint hosts", description = "How many hosts hold a checkpoint of one image "
                + "(the hosts a new VM of it would go to, among those that make checkpoints): each is a boot and the "
                + "guest's memory on that host's disk.")
        int checkpoint_hosts() default 3;

        @AttributeDefinition(name = "staged sweep (s)", description = "How often the hosts are asked what they "
                + "hold staged that no image of the store needs; what one lists at two sweeps in a row is deleted "
                + "there unless a guest uses it. 1 to 86400.")
        long staged_sweepSeconds() default 60;

        @AttributeDefinition(name = "staging space high mark (%)", description = "When the place a host stages in "
                + "is this much used or more, what it holds for images no VM of the host runs from is unstaged too, in "
                + "the order of stagedPolicy.target (org.servicefarm.eviction), down to the low mark. 1 to 100.")
        int staged_spaceHighPercent() default 85;

        @AttributeDefinition(name = "staging space low mark (%)", description = "How far a host short of staging "
                + "space is brought down. 0 to the high mark - 1.")
        int staged_spaceLowPercent() default 80;

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

        @AttributeDefinition(name = "creation attempts", description = "On how many hosts one creation is tried "
                + "before the request is answered with its failure: a host whose driver fails to stage, define or start "
                + "the VM is left for the next one placement chooses. 1 to 10.")
        int create_attempts() default 3;

        @AttributeDefinition(name = "wake attempts", description = "How many wakes of one VM in a row may fail on a "
                + "host that answers (its driver cannot resume or restore it: a saved state that cannot be read back) "
                + "before the VM is given up: FAILED, removed from its host. Each request whose wake failed is served "
                + "by another VM or a new one. 1 to 10.")
        int wake_attempts() default 2;

        @AttributeDefinition(name = "unreachable host grace (s)", description = "The ACTIVE VMs of a host the farm "
                + "cannot reach are granted while their services answer a probe (a restart of its hypervisor's daemon "
                + "leaves the guests running, a dead machine does not); until a VM's first probe ends, for this long. "
                + "Its resting VMs are passed over at once.")
        long unreachableHost_grace_s() default 60;

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

        @AttributeDefinition(name = "archive evicted VMs", description = "Whether a VM evicted under the VM cap (or to "
                + "make room on a host) is archived, keeping its state, while the archives' budget has room; when "
                + "false, or the budget is spent, it is destroyed.")
        boolean evict_archive() default true;

        @AttributeDefinition(name = "eviction archive tier", description = "The archive tier an evicted VM is saved "
                + "in: SAVED, COMPRESSED or DELTA.")
        String evict_tier() default "COMPRESSED";

        @AttributeDefinition(name = "eviction hold (s)", description = "How long a VM made ready for a request "
                + "(created, resumed or restored) and not granted since is kept from eviction: the time its client, "
                + "answered RETRY_LATER, has to come back for it. While every VM that could go is held, a request that "
                + "needs room is answered RETRY_LATER.")
        long evict_hold_s() default 10;

        @AttributeDefinition(name = "archive budget (MiB)", description = "What all archived VMs' saved states may "
                + "take on disk together; past it, evicted VMs are destroyed instead of archived.")
        long archive_budgetMiB() default 20480;

        @AttributeDefinition(name = "archive compression level", description = "The zstd level of the compressed and "
                + "delta archive tiers, 1 (fastest) to 19 (smallest).")
        int archive_compressionLevel() default 3;
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

        /** Work that cannot be done now: the request is answered RETRY_LATER with the reason. */
        static Work failed(Exception why, Duration retryAfter) {
            return new Work(CompletableFuture.failedFuture(why), why.getMessage(), System.nanoTime(), retryAfter);
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

    /** The keys shared by the appliances of the store (retry tickets are signed with one); absent without a store. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile FarmKeys farmKeys;

    /** Adds and removes the hosts of the API, and drains hosts: farm-wide and kept when the store is shared. */
    @Reference
    SharedHosts sharedHosts;
    @Reference
    Placement placement;
    @Reference
    Reuse reuse;
    @Reference
    Eviction eviction;
    @Reference
    Popularity popularity;
    @Reference
    Checkpoints checkpoints;
    @Reference
    NativeServices natives;
    @Reference
    SharedNatives sharedNatives;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;
    @Reference
    FarmEvents events = new FarmEvents();

    Clock clock = Clock.systemUTC();
    /**
     * The time VMs' request rates decay by ({@link LoadMeter}, nanoseconds). Tests that assert which VM counts as
     * busy hold it still: with the real clock a VM's load falls below a tier's threshold after seconds, so how long
     * a slow machine takes between two requests would decide the outcome.
     */
    java.util.function.LongSupplier loadClock = System::nanoTime;
    /**
     * Makes the pool that creates, resumes and restores VMs in the background, of the configured size. A trace replay
     * on a virtual clock gives one that runs the work on its own thread, in the order of its events.
     */
    java.util.function.IntFunction<ExecutorService> workerPool = FarmServiceManager::newWorkers;
    /** Makes what tells when a VM's services answer: connections to them; a replay's simulated guests. */
    java.util.function.Supplier<Readiness> readiness = EndpointProbe::new;
    /** Makes the timer that answers at requests' deadlines: a thread of its own; a replay's virtual clock. */
    java.util.function.Supplier<ScheduledExecutorService> deadlineTimer = FarmServiceManager::newDeadlineTimer;
    /** Owns the configuration in force, its refusals and the one accepted last. */
    private final ConfiguredSettings<Config, Configured> configuration = new ConfiguredSettings<>(PID, Config.class,
            Configured::from);
    private ExecutorService workers;
    /** Answers RETRY_LATER at each waiting request's deadline; one thread, as each task only completes a future. */
    private ScheduledExecutorService deadlines;
    /** Work other appliances sharing the store carry on, by VM id: requests here join it ({@link #watchElsewhere}). */
    private final Map<String, Work> elsewhere = new ConcurrentHashMap<>();
    private Readiness probe;
    /** Tells a retry of a RETRY_LATER answer from a new request. */
    private RetryTickets retryTickets;
    private final Map<Offering, Work> creations = new ConcurrentHashMap<>();
    private final Map<Offering, Object> offeringLocks = new ConcurrentHashMap<>();
    private final Map<String, LoadMeter> loads = new ConcurrentHashMap<>();
    private final Map<Activation, DurationEstimate> estimates = new ConcurrentHashMap<>();
    /** The lifecycle sweeper, once it is active: told of each request. */
    volatile Lifecycle lifecycle;
    /** The mechanism that sleeps, archives, wakes and destroys VMs. */
    VmOperations operations;
    /** The VM cap, and the eviction that makes room. */
    private VmCap cap;
    /** Whether the ACTIVE VMs of unreachable hosts still answer. */
    StrandedVms stranded;

    @Activate
    void activate(Config config, ComponentContext context) {
        Configured configured = configuration.accept(context, config);
        workers = workerPool.apply(configured.settings().workers());
        deadlines = deadlineTimer.get();
        probe = readiness.get();
        retryTickets = new RetryTickets(clock, () -> farmKeys);
        estimates.put(Activation.CREATED, new DurationEstimate(settings().createEstimate()));
        estimates.put(Activation.RESUMED, new DurationEstimate(Duration.ofMillis(200)));
        estimates.put(Activation.RESTORED, new DurationEstimate(Duration.ofSeconds(2)));
        operations = new VmOperations(stateTable, hosts, hosts.index, placement, workers, probe, this::settings,
                () -> imageStore, this::offeringLock, estimates, loads);
        cap = new VmCap(stateTable, eviction, operations, clock);
        stranded = new StrandedVms(probe, () -> settings().probe().attempt(), () -> hosts.nanoTime.getAsLong());
        operations.cap = cap;
        hosts.failedWhileComingUp = operations::guestFailed; // the registry sees the events, the operations wait
        configured.applyTo(operations);
    }

    private static ScheduledExecutorService newDeadlineTimer() {
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(withoutRequestId(r), "servicefarm-deadlines");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true); // a request answered in time leaves no timer behind
        return timers;
    }

    private static ExecutorService newWorkers(int size) {
        AtomicInteger threads = new AtomicInteger();
        return Executors.newFixedThreadPool(size, r -> {
            Thread t = new Thread(withoutRequestId(r), "servicefarm-worker-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * A pool thread made while a request was served inherits that request's logging context (its id): the thread
     * starts with none, so its log does not name a request it no longer serves.
     */
    private static Runnable withoutRequestId(Runnable r) {
        return () -> {
            org.slf4j.MDC.clear();
            r.run();
        };
    }

    @Modified
    void modified(Config config, ComponentContext context) {
        // the pool keeps its size until the next activation; everything else applies to the next request
        configuration.accept(context, config).applyTo(operations);
    }

    /** The manager's settings in force. */
    private Settings settings() {
        return configuration.inForce().settings();
    }

    /** The configuration checked whole: the manager's settings and what its operations are given. */
    record Configured(Settings settings, VmCap.Victims victims, int compressionLevel) {

        static Configured from(Config config) {
            Settings settings = Settings.from(config);
            ArchiveTier tier = ArchiveTier.of("evict.tier", config.evict_tier());
            if (config.archive_compressionLevel() < 1 || config.archive_compressionLevel() > 19) {
                throw new IllegalArgumentException("archive.compressionLevel must be from 1 to 19, not "
                        + config.archive_compressionLevel());
            }
            if (config.evict_hold_s() < 0) {
                throw new IllegalArgumentException("evict.hold.s must not be negative, not " + config.evict_hold_s());
            }
            return new Configured(settings, new VmCap.Victims(config.evict_archive(),
                    config.archive_budgetMiB() * 1024 * 1024, tier, Duration.ofSeconds(config.evict_hold_s())),
                    config.archive_compressionLevel());
        }

        void applyTo(VmOperations operations) {
            operations.victims = victims;
            operations.compressionLevel = compressionLevel;
        }
    }

    private Object offeringLock(Offering offering) {
        return offeringLocks.computeIfAbsent(offering, k -> new Object());
    }

    @Deactivate
    void deactivate() {
        configuration.close();
        hosts.failedWhileComingUp = event -> { };
        workers.shutdownNow();
        probe.close();
        // waiting requests get their answer from the failed work below, not from a deadline
        deadlines.shutdownNow();
        IllegalStateException stopping = new IllegalStateException("the service manager is stopping");
        creations.values().forEach(w -> w.future().completeExceptionally(stopping));
        operations.activations.values().forEach(w -> w.future().completeExceptionally(stopping));
    }

    @Override
    public Outcome request(ServiceRequest request) {
        CompletableFuture<Outcome> answer = requestAsync(request).toCompletableFuture();
        try {
            return answer.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // the work goes on, as after a deadline; the request is told to come back
            Outcome.RetryLater interrupted = new Outcome.RetryLater(settings().failureRetryAfter(), null, List.of(),
                    "interrupted while waiting", Duration.ZERO);
            return interrupted;
        } catch (ExecutionException e) {
            throw new IllegalStateException("the answer failed", e.getCause());
        }
    }

    /**
     * The request flow without a thread held while the work goes on: the answer completes when the work does, or at
     * the deadline with RETRY_LATER (one timer, cancelled when the work wins). Whichever comes first answers; a grant
     * is recorded only when it is the answer.
     */
    @Override
    public CompletionStage<Outcome> requestAsync(ServiceRequest request) {
        long startNanos = System.nanoTime();
        Settings s = settings();
        Settings.Tier tier = admit(request, s);
        Duration deadline = deadline(request, s);
        CompletableFuture<Outcome> answer = new CompletableFuture<>();
        answer.thenAccept(outcome -> events.answered(request, outcome));
        Resolution resolution = directory.resolve(request);
        if (resolution instanceof Resolution.NotViable notViable) {
            answer.complete(new Outcome.Never(notViable.reason(), since(startNanos)));
            return answer;
        }
        Resolution.Viable viable = (Resolution.Viable) resolution;
        Offering offering = viable.offering();
        if (!retryTickets.isRetry(request.retryTicket(), offering)) { // a retry is demand already counted
            popularity.record(offering);
            Lifecycle sweeper = lifecycle;
            if (sweeper != null) {
                sweeper.requested(offering, clock.instant());
            }
        }
        List<String> filledIn = viable.filledIn();
        Optional<NativeService> served = natives.take(offering);
        if (served.isPresent()) { // a host runs it itself: no VM to reuse, wake or create
            answer.complete(new Outcome.Granted(served.get().endpoint(), null, served.get().host(), Activation.NATIVE,
                    offering, filledIn, since(startNanos)));
            return answer;
        }
        Answer pending = new Answer(answer, offering, filledIn, s, startNanos);
        follow(pending, tier, 0, Set.of());
        if (!pending.isSettled()) {
            long left = deadline.toNanos() - (System.nanoTime() - startNanos);
            if (left <= 0) {
                pending.deadlinePassed();
            } else {
                ScheduledFuture<?> timer = deadlines.schedule(pending::deadlinePassed, left, TimeUnit.NANOSECONDS);
                answer.whenComplete((outcome, failure) -> timer.cancel(false));
            }
        }
        return answer;
    }

    /**
     * One request's answer, given once: by its work (a grant, recorded only when it is the answer; NEVER; RETRY_LATER
     * on a failure) or by its deadline (RETRY_LATER), whichever comes first. While a grant is being recorded the
     * deadline waits for it; if the grant cannot be recorded (the lifecycle moved the VM out of ACTIVE meanwhile) the
     * request is served again, and a deadline that passed meanwhile answers at once.
     */
    private final class Answer {
        private static final int OPEN = 0;
        private static final int RECORDING = 1;
        private static final int SETTLED = 2;

        final CompletableFuture<Outcome> future;
        final Offering offering;
        final List<String> filledIn;
        final Settings settings;
        final long startNanos;
        final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger(OPEN);
        volatile boolean late;
        volatile Work work;

        Answer(CompletableFuture<Outcome> future, Offering offering, List<String> filledIn, Settings settings,
               long startNanos) {
            this.future = future;
            this.offering = offering;
            this.filledIn = filledIn;
            this.settings = settings;
            this.startNanos = startNanos;
        }

        boolean isSettled() {
            return state.get() == SETTLED;
        }

        /** Answers {@code outcome} unless the request has its answer. */
        void settle(Outcome outcome) {
            if (state.compareAndSet(OPEN, SETTLED) || state.compareAndSet(RECORDING, SETTLED)) {
                answer(outcome);
            }
        }

        void deadlinePassed() {
            late = true;
            Work now = work;
            if (now != null && state.compareAndSet(OPEN, SETTLED)) {
                answer(new Outcome.RetryLater(now.retryAfter(System.nanoTime()), offering, filledIn,
                        now.doing(), since(startNanos)));
            }
        }

        /** A RETRY_LATER carries the ticket its retry sends back, so that the retry is not counted again. */
        private void answer(Outcome outcome) {
            future.complete(outcome instanceof Outcome.RetryLater later
                    ? later.withRetryTicket(retryTickets.issue(offering)) : outcome);
        }

        /** The grant may be recorded: nobody else answers meanwhile. */
        boolean claim() {
            return state.compareAndSet(OPEN, RECORDING);
        }

        /** The claimed grant could not be recorded: open again, and answer now if the deadline passed meanwhile. */
        void reopen() {
            state.set(OPEN);
            if (late) {
                deadlinePassed();
            }
        }
    }

    /**
     * Serves the request's offering and answers when the work ends; serves again (at most three times in all) when
     * the VM it was given left ACTIVE before its grant could be recorded (the lifecycle put it to sleep meanwhile), or
     * when the VM it waited for could not be woken: then without that VM, so that another one or a new one serves it.
     */
    private void follow(Answer pending, Settings.Tier tier, int attempt, Set<String> passedOver) {
        Work work;
        try {
            work = serve(pending.offering, tier, passedOver);
        } catch (RuntimeException e) {
            LOG.warn("Request for {} could not be started", pending.offering, e);
            pending.settle(new Outcome.RetryLater(pending.settings.failureRetryAfter(), pending.offering,
                    pending.filledIn, e.getMessage(), since(pending.startNanos)));
            return;
        }
        pending.work = work;
        work.future().whenComplete((ready, failure) -> {
            if (failure != null) {
                Throwable cause = cause(failure);
                if (cause instanceof VmOperations.WakeFailedException wake && attempt < 2) {
                    Set<String> without = new java.util.HashSet<>(passedOver);
                    without.add(wake.vmId);
                    follow(pending, tier, attempt + 1, without);
                    return;
                }
                pending.settle(failed(cause, pending));
                return;
            }
            if (!pending.claim()) {
                return; // the deadline answered first: the grant is not recorded
            }
            Optional<VmRecord> vm;
            try {
                vm = recordGrant(ready.vm());
            } catch (RuntimeException e) { // whatever happens, the request gets an answer
                pending.settle(failed(e, pending));
                return;
            }
            if (vm.isPresent()) {
                pending.settle(new Outcome.Granted(vm.get().endpoint(), vm.get().id(), vm.get().hostId(),
                        ready.activation(), pending.offering, pending.filledIn, since(pending.startNanos),
                        ready.start()));
            } else if (attempt < 2) {
                pending.reopen();
                follow(pending, tier, attempt + 1, passedOver);
            } else {
                pending.settle(new Outcome.RetryLater(pending.settings.failureRetryAfter(), pending.offering,
                        pending.filledIn, "its VMs changed state while it was served", since(pending.startNanos)));
            }
        });
    }

    /** The answer to a request whose work failed: NEVER when it can never be served, else RETRY_LATER. */
    private Outcome failed(Throwable cause, Answer pending) {
        if (cause instanceof NeverException never) {
            return new Outcome.Never(never.getMessage(), since(pending.startNanos));
        }
        return new Outcome.RetryLater(pending.settings.failureRetryAfter(), pending.offering, pending.filledIn,
                cause.getMessage(), since(pending.startNanos));
    }

    /** Decides how the offering will be served and returns the work that does it (maybe already done). */
    Work serve(Offering offering, Settings.Tier tier) {
        return serve(offering, tier, Set.of());
    }

    /** {@link #serve(Offering, Settings.Tier)} without the VMs {@code passedOver} (their wake failed). */
    private Work serve(Offering offering, Settings.Tier tier, Set<String> passedOver) {
        // the warm path takes no lock: a grant with nothing more to do is answered at once
        ReuseDecision warm = reuse.decide(reuseRequest(offering, tier, passedOver)).decision();
        if (warm.grant() != null && warm.step() == Step.NONE) {
            return Work.done(new Ready(warm.grant(), Activation.ACTIVE));
        }
        synchronized (offeringLock(offering)) {
            while (true) {
                Reuse.Decided decided = reuse.decide(reuseRequest(offering, tier, passedOver));
                ReuseDecision decision = decided.decision();
                Work started;
                try {
                    started = switch (decision.step()) {
                        case RESUME -> operations.wake(decision.subject(), Activation.RESUMED);
                        case RESTORE -> operations.wake(decision.subject(), Activation.RESTORED);
                        // one creation per offering at a time: concurrent requests for a cold one build it once
                        case CREATE -> creations.containsKey(offering) ? creations.get(offering)
                                : create(offering, tier);
                        case JOIN -> decision.subject() == null ? creations.get(offering)
                                : joinable(decision.subject());
                        case WAIT -> Work.failed(new NoCapacityException(decision.reason()), Duration.ofSeconds(1));
                        case NONE -> null;
                    };
                } catch (VmCap.NoRoomException e) {
                    started = Work.failed(new NoCapacityException(e.getMessage()), settings().failureRetryAfter());
                }
                if (started == null && decision.step() != Step.NONE) {
                    continue; // the VM moved or the work ended since the decision read them: decide again
                }
                if (decision.grant() != null) {
                    return Work.done(new Ready(decision.grant(), Activation.ACTIVE));
                }
                return started != null ? started : Work.failed(new NoCapacityException(decided.policy()
                        + " serves it with no VM now: " + decision.reason()), settings().failureRetryAfter());
            }
        }
    }

    /**
     * Brings a VM of the offering into service ahead of a request (the keep-alive policy's pre-warming), the cheapest
     * way the request path would (resume, restore, create), unless one is ready (ACTIVE or SLEEPING) or under way, or
     * a host runs the offering itself and answers (its requests would not reach the VM).
     *
     * @return whether work was started
     */
    boolean prewarm(Offering offering) {
        if (natives.next(offering).isPresent()) {
            return false;
        }
        List<VmRecord> vms = stateTable.offering(offering);
        boolean ready = vms.stream().anyMatch(vm -> vm.state() == VmState.ACTIVE || vm.state() == VmState.SLEEPING
                || underWay(vm));
        if (ready || creations.containsKey(offering)) {
            return false;
        }
        Work work = serve(offering, settings().tier(null));
        return work != null && !work.future().isCompletedExceptionally();
    }

    /**
     * Whether a VM is being brought into service, here (a resume or a restore; a creation here is the offering's own
     * work) or by another appliance sharing the store (a creation too): a request may join that work.
     */
    private boolean underWay(VmRecord vm) {
        return operations.waking(vm.id()) || Moves.comingUp(vm.state()) && stateTable.workedElsewhere(vm);
    }

    /** The work bringing {@code vm} into service that a request may join (here or elsewhere), or null if none. */
    private Work joinable(VmRecord vm) {
        Work here = operations.activations.get(vm.id());
        if (here != null) {
            return here;
        }
        return Moves.comingUp(vm.state()) && stateTable.workedElsewhere(vm) ? watchElsewhere(vm) : null;
    }

    /** How long a request here follows another appliance's work on a VM before it gives up on it. */
    static final Duration ELSEWHERE_PATIENCE = Duration.ofMinutes(10);
    /** How often the row of a VM another appliance brings into service is looked at (in memory). */
    static final long ELSEWHERE_CHECK_MS = 100;

    /**
     * Work that another appliance sharing the store carries on (it creates, resumes or restores {@code vm}), as seen
     * here: done when the row, as the store's view has it, is ACTIVE; failed when it comes to rest otherwise (the other
     * appliance failed, or it was gone and the leader ended its move). One per VM: requests here join it.
     */
    Work watchElsewhere(VmRecord vm) {
        Activation kind = vm.state() == VmState.RESUMING ? Activation.RESUMED
                : vm.state() == VmState.RESTORING ? Activation.RESTORED : Activation.CREATED;
        Work[] made = new Work[1];
        Work work = elsewhere.computeIfAbsent(vm.id(), id -> made[0] = new Work(new CompletableFuture<>(),
                "another appliance is bringing VM " + id + " into service (" + vm.state() + ")", System.nanoTime(),
                estimates.get(kind).get()));
        if (made[0] != null) {
            checkElsewhere(vm.id(), kind, made[0]);
        }
        return work;
    }

    private void checkElsewhere(String id, Activation kind, Work work) {
        Optional<VmRecord> row = stateTable.vm(id);
        String failure = null;
        if (row.isPresent() && row.get().state() == VmState.ACTIVE) {
            elsewhere.remove(id, work);
            work.future().complete(new Ready(row.get(), kind));
            return;
        }
        if (row.isEmpty() || !row.get().state().transitional()) {
            failure = "VM " + id + " was not brought into service by the appliance working on it: it is "
                    + row.map(vm -> vm.state().toString()).orElse("gone");
        } else if (since(work.startNanos()).compareTo(ELSEWHERE_PATIENCE) > 0) {
            failure = "VM " + id + " is still " + row.get().state() + " after " + ELSEWHERE_PATIENCE.toMinutes()
                    + " minutes";
        }
        if (failure != null) {
            elsewhere.remove(id, work);
            work.future().completeExceptionally(new NoCapacityException(failure));
            return;
        }
        try {
            deadlines.schedule(() -> checkElsewhere(id, kind, work), ELSEWHERE_CHECK_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) { // stopping
            elsewhere.remove(id, work);
            work.future().completeExceptionally(new NoCapacityException("the service manager is stopping"));
        }
    }

    /**
     * What the reuse policy decides from, read now: the offering's VMs with their load and host, the work under way.
     * A SLEEPING or ARCHIVED VM whose host is not connected is left out: its hypervisor holds it, so it cannot be
     * woken, and offered to the policy it would be chosen and fail on every request while the host is down. An ACTIVE
     * one is left out once its service stops answering ({@link #heldByUnreachableHost}).
     */
    ReuseRequest reuseRequest(Offering offering, Settings.Tier tier) {
        return reuseRequest(offering, tier, Set.of());
    }

    private ReuseRequest reuseRequest(Offering offering, Settings.Tier tier, Set<String> passedOver) {
        Settings s = settings();
        long now = loadClock.getAsLong();
        List<ReusableVm> vms = new ArrayList<>();
        for (VmRecord vm : stateTable.offering(offering)) {
            HostStatus host = hosts.status(vm.hostId()).orElse(null);
            if (passedOver.contains(vm.id()) || heldByUnreachableHost(vm, host, s)) {
                continue;
            }
            LoadMeter meter = loads.get(vm.id());
            double load = meter == null ? 0 : meter.perMinute(now) / s.requestsPerMinutePerVm();
            vms.add(new ReusableVm(vm, load, host, underWay(vm)));
        }
        vms.sort(Comparator.comparing(ReusableVm::id));
        Work creating = creations.get(offering);
        Map<Activation, Duration> expected = new java.util.EnumMap<>(Activation.class);
        estimates.forEach((kind, estimate) -> expected.put(kind, estimate.get()));
        return new ReuseRequest(offering, new ReuseTier(tier.name(), tier.maxReplicas(), tier.loadThreshold()), vms,
                creating == null ? null : creating.doing(), expected, clock.instant(),
                hosts.index.view(hosts.index.zones()),
                () -> Optional.ofNullable(placement.explain(lookAhead(offering, tier, s,
                        imageStore.compositionOnlyBecause(offering, s.guestServices(offering)).isPresent())).chosen())
                        .flatMap(hosts::status));
    }

    /**
     * Whether {@code vm} cannot serve now because its host cannot be reached (see {@link #reuseRequest}): a resting
     * one cannot be woken; an ACTIVE one serves while its endpoints answer ({@link StrandedVms}).
     */
    private boolean heldByUnreachableHost(VmRecord vm, HostStatus host, Settings s) {
        boolean resting = vm.state() == VmState.SLEEPING || vm.state() == VmState.ARCHIVED;
        if (host == null) {
            stranded.forget(vm.id());
            return resting; // its host left the farm: nothing can wake it
        }
        if (host.connected()) {
            stranded.forget(vm.id());
            return false;
        }
        return resting || vm.state() == VmState.ACTIVE
                && !stranded.serves(vm, hosts.unreachableFor(vm.hostId()), s.unreachableHostGrace());
    }

    @Override
    public Explanation explain(ServiceRequest request) {
        long startNanos = System.nanoTime();
        Settings s = settings();
        Settings.Tier tier = admit(request, s);
        Resolution resolution = directory.resolve(request);
        if (resolution instanceof Resolution.NotViable notViable) {
            return new Explanation(null, List.of(), "answer NEVER: " + notViable.reason(), null, since(startNanos));
        }
        Resolution.Viable viable = (Resolution.Viable) resolution;
        Offering offering = viable.offering();
        Optional<NativeService> served = natives.next(offering);
        if (served.isPresent()) {
            return new Explanation(offering, viable.filledIn(), "grant the service host " + served.get().host()
                    + " runs itself at " + served.get().endpoint() + " (NATIVE)", null, since(startNanos));
        }
        Reuse.Decided decided = reuse.decide(reuseRequest(offering, tier));
        ReuseDecision plan = decided.decision();
        List<String> action = new ArrayList<>();
        if (plan.grant() != null) {
            action.add("grant VM " + plan.grant().id() + " on " + plan.grant().hostId() + " (ACTIVE)");
        }
        PlacementExplanation placed = null;
        String background = plan.grant() != null ? " in the background" : "";
        switch (plan.step()) {
            case RESUME -> action.add("wake SLEEPING VM " + plan.subject().id() + " on " + plan.subject().hostId()
                    + " (resume)" + background);
            case RESTORE -> action.add("wake ARCHIVED VM " + plan.subject().id() + " on " + plan.subject().hostId()
                    + " (restore)" + background);
            case JOIN -> action.add(plan.subject() == null ? "wait for the VM being created"
                    : "wait for VM " + plan.subject().id() + " being woken");
            case WAIT -> action.add("answer RETRY_LATER: VM " + plan.subject().id() + " is " + plan.subject().state()
                    + " and is woken once it rests");
            case CREATE -> {
                if (creations.containsKey(offering)) {
                    action.add("wait for the VM being created");
                    break;
                }
                Optional<String> noBoot = imageStore.compositionOnlyBecause(offering, s.guestServices(offering));
                if (noBoot.isPresent() && hosts.noneRunsCompositions()) {
                    action.add("answer NEVER: " + noRealImage(noBoot.get()));
                    break;
                }
                placed = placement.explain(lookAhead(offering, tier, s, noBoot.isPresent()), imageStore.find(offering)
                        .map(image -> checkpoints.holders(image.id())).orElse(Set.of()));
                String cap = stateTable.capped() >= s.vmCap() ? ", evicting a VM to stay within the VM cap of "
                        + s.vmCap() : "";
                action.add(placed.chosen() != null ? "create a VM on host " + placed.chosen() + background + cap
                        : "answer RETRY_LATER: a new VM is needed but " + placed.reason());
            }
            case NONE -> {
                if (plan.grant() == null) {
                    action.add("answer RETRY_LATER: " + plan.reason());
                }
            }
        }
        return new Explanation(offering, viable.filledIn(), String.join("; ", action), placed,
                new ReuseExplanation(decided.policy(), plan.reason()), since(startNanos));
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

    /**
     * What placement is asked for a new VM of {@code image}: its size, its tier, where its replicas are and the kind of
     * host its image runs on.
     */
    private PlacementRequest placementRequest(Offering offering, Settings.Tier tier, Settings s, ImageRef image) {
        return new PlacementRequest(offering, tier.name(), vmSize(s, image), replicaHosts(offering),
                hosts.guestsFor(image));
    }

    /**
     * What placement would be asked for a new VM of the offering, whose image is not obtained (an explanation, a reuse
     * policy looking ahead): the kind of host by whether the image store would build a composition only; the size
     * the creation would give it when the image is built already (its memory floor), else the configured size.
     */
    private PlacementRequest lookAhead(Offering offering, Settings.Tier tier, Settings s, boolean compositionOnly) {
        Capacity size = imageStore.find(offering).map(image -> vmSize(s, image)).orElse(s.vmSize());
        return new PlacementRequest(offering, tier.name(), size, replicaHosts(offering),
                hosts.guestsFor(compositionOnly));
    }

    private List<String> replicaHosts(Offering offering) {
        return stateTable.offering(offering).stream().map(VmRecord::hostId).toList();
    }

    /** Why a creation is answered NEVER when its image cannot boot and every host of the farm boots real guests. */
    private static String noRealImage(String reason) {
        return "no real image: " + reason + "; every host of the farm boots real guests";
    }

    /** Counts a grant on an ACTIVE VM; empty if it is not ACTIVE any more (it was just put to sleep). */
    private Optional<VmRecord> recordGrant(VmRecord vm) {
        long now = loadClock.getAsLong();
        Instant when = clock.instant();
        Optional<VmRecord> granted = stateTable.update(vm.id(), VmState.ACTIVE, row -> row.granted(when));
        granted.ifPresent(v -> loads.computeIfAbsent(v.id(), k -> new LoadMeter(now)).record(now));
        return granted;
    }

    /** A VM's request rate per minute now, 0 if it has none. */
    double requestsPerMinute(String vmId) {
        LoadMeter meter = loads.get(vmId);
        return meter == null ? 0 : meter.perMinute(loadClock.getAsLong());
    }

    /** Creates a VM for the offering in the background. Called under the offering's lock. */
    private Work create(Offering offering, Settings.Tier tier) {
        Work work = new Work(new CompletableFuture<>(), "creating a VM for " + offering.key(), System.nanoTime(),
                estimates.get(Activation.CREATED).get());
        creations.put(offering, work);
        submit(work, () -> creations.remove(offering, work), () -> {
            VmRecord placed = null;
            try {
                Settings s = settings();
                Steps steps = new Steps(work.startNanos());
                List<VmSpec.GuestService> services = s.guestServices(offering);
                ImageRef image = imageStore.obtain(offering, services);
                steps.done("image");
                if (image.compositionOnly() && hosts.noneRunsCompositions()) {
                    throw new NeverException(noRealImage(image.reason() == null
                            ? "image " + image.id() + " is a composition only" : image.reason()));
                }
                // the hosts where this creation failed, with why: a host's failure sends it to the next one
                Map<String, String> failedOn = new LinkedHashMap<>();
                Started started = null;
                while (started == null) {
                    placed = placeAvoiding(offering, tier, image, failedOn);
                    steps.done("place"); // with the VM cap's eviction, if a VM had to go
                    try {
                        started = start(placed, offering, image, services, steps);
                    } catch (HypervisorException e) {
                        if (failedOn.size() + 1 >= s.createAttempts()) {
                            throw e;
                        }
                        String host = placed.hostId();
                        LOG.warn("Creating {} on {} failed, another host is tried: {}", placed.id(), host,
                                e.getMessage());
                        failedOn.put(host, e.getMessage());
                        operations.destroyQuietly(placed, VmState.FAILED, "creation failed: " + e.getMessage()
                                + "; another host is tried");
                        placed = null;
                        steps.done("failed on " + host);
                    }
                }
                VmRecord starting = started.vm();
                ImageRef start = started.from();
                operations.serving(starting).whenCompleteAsync((answered, silent) -> {
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
            } catch (StateTable.BeingCreatedException e) {
                // another appliance sharing the store creates the offering: this work follows that VM instead
                creations.remove(offering, work);
                LOG.info("{}: requests here join it", e.getMessage());
                watchElsewhere(e.other).future().whenComplete((ready, failure) -> {
                    if (failure != null) {
                        work.future().completeExceptionally(failure);
                    } else {
                        work.future().complete(ready);
                    }
                });
            } catch (Exception | Error e) { // whatever happens, joined requests must get an answer
                creationFailed(offering, placed, work, e);
            }
        });
        return work;
    }

    /** A new VM started on its host, and the image it started from (the image, or its checkpoint there). */
    private record Started(VmRecord vm, ImageRef from) {
    }

    /**
     * The driver's part of a creation on the host placement chose: stage (the host's checkpoint of the image when it
     * restores one: checkpoint, else pre-built, else built), define, start.
     *
     * @throws HypervisorException when the host's driver fails at any of them: another host may do better
     */
    private Started start(VmRecord placed, Offering offering, ImageRef image, List<VmSpec.GuestService> services,
                          Steps steps) throws HypervisorException {
        HostConnection connection = hosts.connection(placed.hostId());
        ImageRef start = checkpoints.startImage(image, placed.hostId(), connection);
        StagedImage staged = connection.stage(start);
        steps.done("stage");
        connection.define(new VmSpec(placed.id(), offering, staged, placed.resources().vcpus(),
                placed.resources().memoryMiB(), services, placed.createdAt()));
        steps.done("define");
        stateTable.move(placed.id(), VmState.CREATING, VmState.STARTING, (String) null);
        Map<String, Endpoint> endpoints = connection.start(placed.id());
        steps.done("start");
        return new Started(stateTable.update(placed.id(), VmState.STARTING, vm -> vm.withEndpoints(endpoints)
                .withState(VmState.STARTING, "started; waiting for its services to answer")).orElseThrow(), start);
    }

    /**
     * Places a VM of the creation on a host where it has not failed yet; when none is left, the last failure is the
     * answer (it says more than "no host").
     */
    private VmRecord placeAvoiding(Offering offering, Settings.Tier tier, ImageRef image, Map<String, String> failedOn)
            throws NoCapacityException, HypervisorException {
        try {
            return place(offering, tier, image, failedOn);
        } catch (NoCapacityException e) {
            if (failedOn.isEmpty()) {
                throw e;
            }
            Map.Entry<String, String> last = failedOn.entrySet().stream().reduce((a, b) -> b).orElseThrow();
            throw new HypervisorException(last.getValue() + " (no other host could take the VM: " + e.getMessage()
                    + ")");
        }
    }

    /** @param checkpoint the checkpoint image it restored, or {@code null} when it booted */
    private void created(VmRecord vm, Work work, Steps steps, String checkpoint) {
        String took = (checkpoint == null ? "" : "from checkpoint " + checkpoint + " ") + steps;
        VmRecord active = operations.serveFrom(vm, VmState.STARTING, "created " + took,
                () -> creations.remove(vm.offering(), work));
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

    /** A creation failed at any step: the VM (if it was placed) goes, and joined requests get the failure. */
    private void creationFailed(Offering offering, VmRecord placed, Work work, Throwable failure) {
        creations.remove(offering, work);
        if (placed != null) {
            LOG.warn("Creating {} on {} failed: {}", placed.id(), placed.hostId(), failure.getMessage());
            operations.destroyQuietly(placed, VmState.FAILED, "creation failed: " + failure.getMessage());
        }
        work.future().completeExceptionally(failure);
    }

    /** What failed, without the wrapper of a future's stage. */
    static Throwable cause(Throwable failure) {
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

    /** How many VMs one creation may evict to find a host with room, beyond the VM cap's own evictions. */
    static final int ROOM_EVICTIONS = 4;

    /**
     * Places a new VM and records it as CREATING: a slot under the VM cap is reserved first (evicting a VM while the
     * cap is reached), then room on a host ({@link Placement#place}); when no host has room, a VM held in memory
     * (of the same security level, so on a host that may take this one) is evicted and placement tries again. The row
     * takes both reservations over. No global lock: each is reserved atomically, so concurrent creations never
     * over-commit a host nor exceed the cap, and creations on different hosts do not wait for each other.
     */
    private VmRecord place(Offering offering, Settings.Tier tier, ImageRef image, Map<String, String> failedOn)
            throws NoCapacityException {
        Settings s = settings();
        VmCap.Victims victims = operations.victims;
        try {
            cap.reserveSlot(s.vmCap(), offering, victims);
        } catch (VmCap.NoRoomException e) {
            throw new NoCapacityException(e.getMessage());
        }
        try {
            PlacementRequest request = placementRequest(offering, tier, s, image);
            Set<String> holders = checkpoints.holders(image.id()); // hosts holding its checkpoint come first
            for (int claims = 1; ; claims++) {
                Placement.Decision decision = placement.place(request, holders, failedOn);
                for (int evicted = 0; decision.host().isEmpty() && evicted < ROOM_EVICTIONS; evicted++) {
                    try {
                        cap.evictOne(offering, victims, vm -> vm.offering().securityLevel()
                                .equals(offering.securityLevel()), "no host has room for a new VM of " + offering.key());
                    } catch (VmCap.NoRoomException e) {
                        break;
                    }
                    decision = placement.place(request, holders, failedOn);
                }
                if (decision.host().isEmpty()) {
                    throw new NoCapacityException(decision.reason());
                }
                String host = decision.host().get().name();
                VmRecord placed = new VmRecord(newVmId(), host, image.id(), offering, Map.of(), VmState.CREATING,
                        request.demand(), clock.instant(), null, 0, "placed on " + host + " by " + decision.strategy());
                try {
                    stateTable.putReserved(placed, operations.capacityOf(host));
                    return placed;
                } catch (StateTable.RoomTakenException e) {
                    // another appliance sharing the store filled the host: its VMs are counted now, place again
                    placement.release(host, request);
                    if (claims >= CLAIM_ATTEMPTS) {
                        throw new NoCapacityException(e.getMessage());
                    }
                } catch (RuntimeException e) {
                    placement.release(host, request);
                    throw e;
                }
            }
        } catch (NoCapacityException | RuntimeException e) {
            stateTable.releaseSlot();
            throw e;
        }
    }

    /** How often a creation places again when other appliances sharing the store take the room it chose. */
    static final int CLAIM_ATTEMPTS = 3;

    /** The configured VM size, with at least the memory the image asks for. */
    static Capacity vmSize(Settings s, ImageRef image) {
        Capacity configured = s.vmSize();
        return image.minMemoryMiB() <= configured.memoryMiB() ? configured
                : new Capacity(configured.vcpus(), image.minMemoryMiB(), configured.vms());
    }

    private static String newVmId() {
        return String.format("sf-%012x", ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL);
    }

    static Duration since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    // ---- the operator's lifecycle calls -----------------------------------------------------------------------

    @Override
    public VmRecord sleep(String vmId) {
        VmRecord vm = existing(vmId);
        requireState(vm, "put to sleep", VmState.ACTIVE);
        return operations.sleep(vm, "put to sleep by the operator").orElseThrow(() -> moved(vmId));
    }

    @Override
    public VmRecord archive(String vmId, ArchiveTier tier) {
        VmRecord vm = existing(vmId);
        requireState(vm, "archived", VmState.ACTIVE, VmState.SLEEPING, VmState.ARCHIVED);
        ArchiveTier in = tier == null ? ArchiveTier.SAVED : tier;
        if (vm.state() == VmState.ARCHIVED && vm.archive() != null && vm.archive().tier() == in) {
            throw new ConflictException("VM " + vmId + " is archived in tier " + in + " already");
        }
        java.util.Set<ArchiveTier> kept = operations.tiersKept(vm.hostId());
        if (!kept.contains(in)) {
            throw new ConflictException("host " + vm.hostId() + " keeps archives in " + (kept.size() == 1 ? "tier "
                    : "tiers ") + kept.stream().map(Enum::name).sorted().collect(java.util.stream.Collectors
                    .joining(", ")) + " only, not " + in);
        }
        return operations.archive(vm, in, "archived by the operator").orElseThrow(() -> moved(vmId));
    }

    @Override
    public VmRecord wake(String vmId) {
        try {
            return wakeAsync(vmId).toCompletableFuture().join();
        } catch (java.util.concurrent.CompletionException e) {
            if (cause(e) instanceof RuntimeException failure) {
                throw failure;
            }
            throw e;
        }
    }

    /** The wake's work, answered by its row once it serves, or as it is when the longest deadline passed. */
    @Override
    public CompletionStage<VmRecord> wakeAsync(String vmId) {
        VmRecord vm = existing(vmId);
        requireState(vm, "woken", VmState.SLEEPING, VmState.ARCHIVED);
        Work work;
        synchronized (offeringLock(vm.offering())) {
            try {
                work = operations.wake(vm, vm.state() == VmState.SLEEPING ? Activation.RESUMED : Activation.RESTORED);
            } catch (VmCap.NoRoomException e) {
                throw new ConflictException(e.getMessage());
            }
        }
        if (work == null) {
            throw moved(vmId);
        }
        // a stage of its own: the timeout must not complete the work that requests for the VM join
        return work.future().thenApply(Ready::vm)
                .completeOnTimeout(null, settings().maxDeadline().toMillis(), TimeUnit.MILLISECONDS)
                .handle((woken, failure) -> {
                    if (failure != null) {
                        throw new ConflictException("waking VM " + vmId + " failed: " + cause(failure).getMessage());
                    }
                    return woken != null ? woken : existing(vmId);
                });
    }

    @Override
    public VmRecord destroy(String vmId) {
        VmRecord vm = existing(vmId);
        requireState(vm, "destroyed", VmState.ACTIVE, VmState.SLEEPING, VmState.ARCHIVED, VmState.FAILED);
        return operations.destroy(vm, "destroyed by the operator").orElseThrow(() -> moved(vmId));
    }

    @Override
    public VmRecord migrate(String vmId, String host) {
        VmRecord vm = existing(vmId);
        if (host != null && hosts.status(host).isEmpty()) {
            throw new InvalidRequestException("host", "no host named " + org.servicefarm.api.Names.excerpt(host));
        }
        if (vm.hostId().equals(host)) {
            throw new InvalidRequestException("host", "VM " + vmId + " is on host " + host + " already");
        }
        GuestKind kind = hosts.guestsOf(vm);
        GuestKind there = host == null ? null : hosts.status(host).map(HostStatus::guests).orElse(null);
        if (kind != null && there != null && kind != there) {
            throw new InvalidRequestException("host", "host " + host + "'s guests are "
                    + there.name().toLowerCase(Locale.ROOT) + ", VM " + vmId + " runs where guests are "
                    + kind.name().toLowerCase(Locale.ROOT));
        }
        requireState(vm, "moved", VmState.ACTIVE, VmState.SLEEPING, VmState.ARCHIVED);
        return relocate(vm, host, "moved by the operator");
    }

    /**
     * Moves a VM's archive to {@code host} (or one placement chooses), archiving it first if it is in memory.
     *
     * @throws ConflictException if it moved meanwhile, no host can take it, or the driver refused
     */
    VmRecord relocate(VmRecord vm, String host, String why) {
        VmRecord archived = vm;
        if (vm.state() != VmState.ARCHIVED) {
            archived = operations.archive(vm, ArchiveTier.SAVED, why + ": archived to be moved")
                    .orElseThrow(() -> moved(vm.id()));
        }
        String target = host != null ? host : relocationTarget(archived);
        try {
            return operations.relocate(archived, target, why).orElseThrow(() -> moved(vm.id()));
        } catch (VmOperations.OperationFailedException e) {
            throw new ConflictException(e.getMessage());
        }
    }

    /** Where placement would put the VM, its own host aside; room there is not kept (an archive holds none). */
    private String relocationTarget(VmRecord vm) {
        PlacementRequest request = new PlacementRequest(vm.offering(), settings().defaultTier(), vm.resources(),
                List.of(vm.hostId()), hosts.guestsOf(vm));
        PlacementExplanation explained = placement.explain(request);
        return explained.candidates().stream().map(org.servicefarm.api.placement.Candidate::name)
                .filter(name -> !name.equals(vm.hostId())).findFirst()
                .orElseThrow(() -> new ConflictException("no other host can take VM " + vm.id() + ": "
                        + (explained.reason() == null ? "only its own host passes placement" : explained.reason())));
    }

    private VmRecord existing(String vmId) {
        return stateTable.vm(vmId).orElseThrow(() -> new org.servicefarm.api.NotFoundException("no VM with id "
                + org.servicefarm.api.Names.excerpt(vmId)));
    }

    private static void requireState(VmRecord vm, String what, VmState... states) {
        for (VmState state : states) {
            if (vm.state() == state) {
                return;
            }
        }
        throw new ConflictException("VM " + vm.id() + " is " + vm.state() + " and cannot be " + what + " (it must be "
                + java.util.Arrays.toString(states) + ")");
    }

    private static ConflictException moved(String vmId) {
        return new ConflictException("VM " + vmId + " changed state meanwhile; try again");
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
    public List<NativeServiceStatus> natives() {
        return natives.statuses();
    }

    @Override
    public NativeServiceStatus registerNative(NativeService service) {
        return sharedNatives.register(service);
    }

    @Override
    public void unregisterNative(String name) {
        sharedNatives.unregister(name);
    }

    @Override
    public HostStatus registerHost(HostRecord host) {
        if (host == null) {
            throw new InvalidRequestException("a host is required");
        }
        return sharedHosts.register(host);
    }

    @Override
    public HostStatus drain(String name, boolean drained) {
        // kept in the store first when it keeps drains; its VMs move away now, not at the next sweep
        return sharedHosts.drain(name, drained);
    }

    @Override
    public HostStatus connect(String name) {
        // this appliance's own connection: each appliance sharing a store holds its own
        return hosts.connectNow(name);
    }

    @Override
    public void unregisterHost(String name) {
        // whether VMs occupy it is decided atomically with placement's reservations
        sharedHosts.unregister(name);
    }
}
