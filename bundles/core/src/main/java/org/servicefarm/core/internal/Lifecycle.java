package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.api.keepalive.KeepAliveView;
import org.servicefarm.api.store.DemandCounts;
import org.servicefarm.api.store.Leadership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle sweeper: on one scheduler thread, every sweep asks the keep-alive policy in force
 * ({@link KeepAlivePolicy}, chosen by {@code policy.target}) what is due for each resting VM and carries it out
 * (sleep, archive in a tier, destroy), moves the VMs of drained hosts away, brings a VM into service for each
 * combination the policy pre-warms, and every reconcile period has the host registry compare each host's guests with the
 * table. Each move is logged with its reason. The clock is injectable and {@link #sweep} public to the package, so
 * tests drive it with a virtual clock and never sleep.
 */
@Component(service = {Lifecycle.class, KeepAliveView.class}, configurationPid = Lifecycle.PID,
        immediate = true, property = RefusedConfiguration.WITHOUT + "policy=no keep-alive policy is in force: idle VMs "
                + "are not put to sleep, archived or destroyed")
@Designate(ocd = Lifecycle.Config.class)
public class Lifecycle implements KeepAliveView {

    static final String PID = "org.servicefarm.lifecycle";
    private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);

    @ObjectClassDefinition(name = "ServiceFarm VM lifecycle",
            description = "Which keep-alive policy decides when idle VMs are put to sleep, archived and destroyed and "
                    + "what is pre-warmed, how often it is asked, and how often the table is reconciled with the hosts.")
    public @interface Config {
        @AttributeDefinition(name = "keep-alive policy", description = "An LDAP filter over the keep-alive "
                + "policies' service properties choosing the one in force, e.g. (keepalive.name=histogram). Takes "
                + "effect without a restart; without a policy, VMs stay as they are.")
        String policy_target() default "(keepalive.name=fixed)";

        @AttributeDefinition(name = "sweep interval (s)", description = "How often the policy is asked what is due "
                + "and what to pre-warm.")
        long sweep_interval_s() default 15;

        @AttributeDefinition(name = "reconcile period (s)", description = "How often every host's guests are compared "
                + "with the table and drift repaired (stopped behind the farm's back, unknown or vanished guests). "
                + "0: only when a host connects.")
        long reconcile_period_s() default 60;

        @AttributeDefinition(name = "history taught (h)", description = "A keep-alive policy coming into force (at "
                + "start, after a restart, when another is chosen) is first told what the farm was asked in this many "
                + "past hours, per combination and minute, from the store's request counts (kept a day), so that it "
                + "does not learn from nothing. 0: not taught.")
        int history_h() default 24;
    }

    @Reference
    FarmServiceManager manager;
    @Reference
    StateTable table;
    @Reference
    HostRegistry hosts;
    @Reference
    Popularity popularity;

    Clock clock = Clock.systemUTC();
    /** Among appliances sharing a store, only the leader sweeps and reconciles; without one, this appliance does. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile Leadership leadership;
    /** Told of each keep-alive decision carried out (metrics count them). */
    @Reference
    FarmEvents events = new FarmEvents();
    private volatile KeepAlivePolicy policy;
    /**
     * A policy being taught the farm's history before it comes into force (guarded by {@link #teaching}); the
     * requests that come meanwhile are held back for it.
     */
    private volatile KeepAlivePolicy learning;
    private final Object teaching = new Object();
    private final List<HeldBack> heldBack = new java.util.ArrayList<>();
    /** Most requests held back for a policy being taught (it takes a second or so): past that, the rest are lost. */
    static final int MAX_HELD_BACK = 100_000;
    private final ConfiguredSettings<Config, Timing> timing = new ConfiguredSettings<>(PID, Config.class,
            Lifecycle::timing);

    /** How often to sweep and reconcile, and how many hours of the farm's requests a policy coming in is taught. */
    private record Timing(int historyHours, long sweepS, long reconcileS) {
    }

    private record HeldBack(Offering offering, Instant at) {
    }
    /** Each bound policy's name (its {@link KeepAlivePolicy#NAME}), for the keep-alive decisions told. */
    private final Map<KeepAlivePolicy, String> names = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong prewarms = new AtomicLong();
    private ScheduledExecutorService scheduler;
    private ScheduledFuture<?> sweeping;
    private ScheduledFuture<?> reconciling;

    @Activate
    void activate(Config config, ComponentContext context) {
        scheduler = Daemons.scheduler("servicefarm-lifecycle");
        configure(config, context);
        manager.lifecycle = this;
        manager.sharedHosts.lifecycle = this;
        KeepAlivePolicy bound = learning;
        if (bound != null) {
            teachThenEnforce(bound); // bound before activation: taught now that the configuration is known
        }
    }

    /**
     * A policy bound comes into force once it has been taught the farm's history ({@link #teachThenEnforce}); until
     * then the one it replaces, if any, stays in force.
     */
    @Reference(name = "policy", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, updated = "updatedPolicy")
    void bindPolicy(KeepAlivePolicy bound, Map<String, Object> properties) {
        Object name = properties.get(KeepAlivePolicy.NAME);
        names.put(bound, name == null ? "unnamed" : name.toString());
        synchronized (teaching) {
            learning = bound;
            heldBack.clear();
        }
        if (scheduler != null) {
            teachThenEnforce(bound);
        }
    }

    /**
     * The policy in force was configured anew (its service properties are its configuration): settings that made it
     * forget what it learned (the histograms' range or bin width) would leave it learning from nothing, so it is taught
     * again, staying in force (a combination asked for meanwhile keeps only what it is told from then on). One that
     * forgot nothing is told only minutes it does not know: none.
     */
    void updatedPolicy(KeepAlivePolicy changed, Map<String, Object> properties) {
        if (policy != changed || scheduler == null) {
            return;
        }
        DemandHistory.Taught taught = teach(changed, clock.instant());
        LOG.info("Keep-alive policy {} configured anew, taught {} requests of {} combinations it did not know",
                names.getOrDefault(changed, "unnamed"), taught.requests(), taught.offerings());
    }

    void unbindPolicy(KeepAlivePolicy unbound) {
        synchronized (teaching) {
            if (learning == unbound) {
                learning = null;
                heldBack.clear();
            }
        }
        if (policy == unbound) {
            policy = null;
        }
        names.remove(unbound);
    }

    /**
     * Teaches {@code pupil} what the farm was asked in the last {@code history.h} hours ({@link DemandHistory}), then
     * puts it in force with the requests that came meanwhile, so that a restart, a swap or a new leader does not
     * start from nothing (the histogram policies would keep every VM their fallback's 4 hours and pre-warm nothing
     * until they had learned again). On the binding thread: a day of 100 combinations' counts (144,000 rows) is read in
     * about a third of a second on H2.
     */
    private void teachThenEnforce(KeepAlivePolicy pupil) {
        Instant cut = clock.instant();
        DemandHistory.Taught taught = teach(pupil, cut);
        synchronized (teaching) {
            if (learning != pupil) {
                return; // unbound or replaced meanwhile
            }
            for (HeldBack request : heldBack) {
                if (request.at().isAfter(cut)) { // earlier ones were counted before the history was read
                    pupil.requested(request.offering(), request.at());
                }
            }
            heldBack.clear();
            policy = pupil;
            learning = null;
        }
        LOG.info("Keep-alive policy {} in force, taught {} requests of {} combinations over {} min of the farm's "
                + "last {} h", names.getOrDefault(pupil, "unnamed"), taught.requests(), taught.offerings(),
                taught.minutes(), timing.inForce().historyHours());
    }

    /**
     * Teaches {@code pupil} the store's counts of the last {@code history.h} hours up to {@code cut}, if any and if it
     * learns from requests at all (the default fixed timers do not: the day's counts are not read for them).
     */
    private DemandHistory.Taught teach(KeepAlivePolicy pupil, Instant cut) {
        DemandCounts farm = demand;
        int historyHours = timing.inForce().historyHours();
        if (farm == null || historyHours <= 0 || !pupil.learnsFromRequests()) {
            return DemandHistory.Taught.NOTHING;
        }
        long cutMinute = cut.toEpochMilli() / 60_000;
        try {
            DemandHistory.Taught taught = DemandHistory.teach(pupil, farm.history(cutMinute - historyHours * 60L + 1),
                    cut, MAX_TOLD);
            for (DemandCounts.Asked asked : farm.others(cutMinute - 2)) {
                told.put(new Told(asked.offering(), asked.minute()), asked.requests()); // taught: not told again
            }
            return taught;
        } catch (RuntimeException e) {
            LOG.warn("The keep-alive policy {} could not be taught the farm's requests, and learns from now on: {}",
                    names.getOrDefault(pupil, "unnamed"), e.getMessage());
            return DemandHistory.Taught.NOTHING;
        }
    }

    /** Tells the policy in force of a request (from the request path, before it is served), and one being taught. */
    void requested(Offering offering, Instant at) {
        if (learning != null) {
            synchronized (teaching) {
                if (learning != null && heldBack.size() < MAX_HELD_BACK) {
                    heldBack.add(new HeldBack(offering, at));
                }
            }
        }
        KeepAlivePolicy inForce = policy;
        if (inForce != null) {
            inForce.requested(offering, at);
        }
    }

    @Override
    public Optional<String> policy() {
        KeepAlivePolicy inForce = policy;
        return inForce == null ? Optional.empty() : Optional.of(names.getOrDefault(inForce, "unnamed"));
    }

    @Override
    public List<KeepAliveOutlook> outlook() {
        KeepAlivePolicy inForce = policy;
        if (inForce == null) {
            return List.of();
        }
        return inForce.outlook(clock.instant()).stream()
                .sorted(Comparator.comparing((KeepAliveOutlook o) -> o.offering().key())).toList();
    }

    /** How many times a VM was brought into service ahead of a request since activation. */
    long prewarms() {
        return prewarms.get();
    }

    @Modified
    synchronized void configure(Config config, ComponentContext context) {
        Timing t = timing.accept(context, config);
        // DS rebinds 'policy' to a new target without deactivating us
        if (sweeping != null) {
            sweeping.cancel(false);
        }
        if (reconciling != null) {
            reconciling.cancel(false);
        }
        sweeping = scheduler.scheduleWithFixedDelay(this::sweepQuietly, t.sweepS(), t.sweepS(), TimeUnit.SECONDS);
        if (t.reconcileS() > 0) {
            reconciling = scheduler.scheduleWithFixedDelay(this::reconcileIfLeading, t.reconcileS(), t.reconcileS(),
                    TimeUnit.SECONDS);
        }
    }

    private static Timing timing(Config config) {
        if (config.history_h() < 0) {
            throw new IllegalArgumentException("history.h must not be negative");
        }
        return new Timing(config.history_h(), Math.max(1, config.sweep_interval_s()), config.reconcile_period_s());
    }

    @Deactivate
    void deactivate() {
        timing.close();
        if (manager.lifecycle == this) {
            manager.lifecycle = null;
        }
        if (manager.sharedHosts.lifecycle == this) {
            manager.sharedHosts.lifecycle = null;
        }
        scheduler.shutdownNow();
    }

    /** Sweeps now, on the lifecycle's thread (a host was drained, here or on another appliance). */
    void sweepSoon() {
        try {
            scheduler.execute(this::sweepQuietly);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopping
        }
    }

    /** What the other appliances sharing the store are asked, when they share one. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile DemandCounts demand;

    /** Most requests of one offering and minute told to the policy per sweep: enough for its idle-time bins. */
    static final int MAX_TOLD = 100;
    /**
     * The other appliances' requests told to the policy so far, per offering and minute (the sweep's thread, and the
     * binding thread when a policy is taught).
     */
    private final Map<Told, Long> told = new java.util.concurrent.ConcurrentHashMap<>();

    private record Told(org.servicefarm.api.Offering offering, long minute) {
    }

    /**
     * Tells the policy of the requests the other appliances sharing the store were asked since the last sweep: each
     * as asked now, to within a sweep's interval. Every appliance's policy is told, not only the leader's (which
     * decides for the whole farm), so that one taking the lead knows the farm, and each one's view shows it.
     */
    private void tellOthersRequests(KeepAlivePolicy inForce, Instant now) {
        DemandCounts farm = demand;
        if (farm == null || inForce == null) {
            return;
        }
        long minute = now.toEpochMilli() / 60_000;
        for (DemandCounts.Asked asked : farm.others(minute - 2)) {
            Told key = new Told(asked.offering(), asked.minute());
            long news = asked.requests() - told.getOrDefault(key, 0L);
            if (news > 0) {
                told.put(key, asked.requests());
                for (long i = 0; i < Math.min(news, MAX_TOLD); i++) {
                    inForce.requested(asked.offering(), now);
                }
            }
        }
        told.keySet().removeIf(key -> key.minute() < minute - 2);
    }

    /** True unless another appliance sharing the store leads the periodic work. */
    private boolean leading() {
        Leadership l = leadership;
        return l == null || l.leads();
    }

    private void reconcileIfLeading() {
        if (leading()) {
            hosts.reconcileAll();
        }
    }

    void sweepQuietly() {
        if (!leading()) {
            try {
                tellOthersRequests(policy, clock.instant());
            } catch (RuntimeException e) {
                LOG.warn("Telling the keep-alive policy of the other appliances' requests failed: {}", e.toString());
            }
            return;
        }
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.warn("Lifecycle sweep failed: {}", e.toString(), e);
        }
    }

    /**
     * One sweep: what the policy says is due for each resting VM, the VMs of drained hosts moved away, then a VM
     * brought into service for each combination the policy expects a request for soon and that has none ready.
     *
     * @return how many VMs were moved (pre-warmed ones included)
     */
    int sweep() {
        Instant now = clock.instant();
        KeepAlivePolicy inForce = policy;
        tellOthersRequests(inForce, now);
        String named = inForce == null ? null : names.getOrDefault(inForce, "unnamed");
        Map<String, Boolean> drained = new HashMap<>();
        java.util.Set<String> takingVms = new java.util.HashSet<>();
        java.util.Set<String> reachable = new java.util.HashSet<>();
        for (HostStatus host : hosts.statuses()) {
            drained.put(host.name(), host.drained());
            if (host.connected()) {
                reachable.add(host.name());
                if (!host.drained()) {
                    takingVms.add(host.name());
                }
            }
        }
        int moved = 0;
        for (VmRecord vm : table.occupying()) {
            if (manager.operations.waking(vm.id()) || !reachable.contains(vm.hostId())) {
                // a VM whose host cannot be reached stays as it is: every move needs its hypervisor (tried, each
                // sweep would probe its endpoint and fail), and the reconcile of the reconnect says where it is
                continue;
            }
            try {
                if (drained.getOrDefault(vm.hostId(), false) && vm.state().reusable()) {
                    moved += leaveDrained(vm) ? 1 : 0;
                    continue;
                }
                if (inForce == null) {
                    continue; // none in force: VMs stay as they are
                }
                Optional<KeepAlivePolicy.Due> due = inForce.due(vm, now, new KeepAlivePolicy.Context(
                        popularity.requestsPerMinute(vm.offering()), checkpointed(vm.imageId(), takingVms)));
                if (due.isEmpty()) {
                    events.keepAliveDecided(named, FarmListener.KeepAlive.KEEP, null);
                } else if (carryOut(vm, due.get())) {
                    moved++;
                    KeepAlivePolicy.Action action = due.get().action();
                    events.keepAliveDecided(named, decision(action),
                            action == KeepAlivePolicy.Action.ARCHIVE ? due.get().tier() : null);
                }
            } catch (RuntimeException e) {
                LOG.warn("Lifecycle: VM {} could not be moved: {}", vm.id(), e.getMessage());
            }
        }
        if (inForce != null) {
            checkpointWanted(inForce, now, takingVms);
        }
        for (Offering offering : inForce == null ? java.util.List.<Offering>of() : inForce.prewarm(now)) {
            try {
                if (manager.prewarm(offering)) {
                    prewarms.incrementAndGet();
                    moved++;
                    events.keepAliveDecided(named, FarmListener.KeepAlive.PREWARM, null);
                }
            } catch (RuntimeException e) {
                LOG.warn("Lifecycle: {} could not be pre-warmed: {}", offering.key(), e.getMessage());
            }
        }
        return moved;
    }

    /** Whether a host that takes new VMs holds a checkpoint of the image: a new VM of it would start from there. */
    private boolean checkpointed(String imageId, java.util.Set<String> takingVms) {
        Checkpoints checkpoints = manager.checkpoints;
        return imageId != null && checkpoints != null
                && checkpoints.holders(imageId).stream().anyMatch(takingVms::contains);
    }

    /** How long a checkpoint the policy asked for may take before it is asked for again (it failed, or went). */
    static final java.time.Duration CHECKPOINT_ASKED_AGAIN = java.time.Duration.ofMinutes(10);
    /** When each combination's checkpoint was last asked for on the policy's behalf (the sweep's thread only). */
    private final Map<Offering, Instant> checkpointsAsked = new HashMap<>();

    /**
     * Has the hosts checkpoint, in the background, the images of the combinations the policy wants checkpointed and
     * that no host taking VMs holds yet: once, and again only {@link #CHECKPOINT_ASKED_AGAIN} later if still none.
     */
    private void checkpointWanted(KeepAlivePolicy inForce, Instant now, java.util.Set<String> takingVms) {
        checkpointsAsked.values().removeIf(asked -> !now.isBefore(asked.plus(CHECKPOINT_ASKED_AGAIN)));
        Checkpoints checkpoints = manager.checkpoints;
        org.servicefarm.api.image.ImageStore images = manager.imageStore;
        if (checkpoints == null || images == null || !checkpoints.anyHostMakesThem()) {
            return; // no host makes checkpoints (libvirt's do not): none to ask for
        }
        for (Offering offering : inForce.checkpoint(now)) {
            if (checkpointsAsked.containsKey(offering) || images.find(offering)
                    .map(image -> checkpointed(image.id(), takingVms)).orElse(false)) {
                continue;
            }
            checkpointsAsked.put(offering, now);
            LOG.info("Lifecycle: {} is checkpointed on the hosts that make checkpoints, for the keep-alive policy: its "
                    + "VMs can rest as the checkpoint", offering.key());
            checkpoints.prepare(offering);
        }
    }

    private static FarmListener.KeepAlive decision(KeepAlivePolicy.Action action) {
        return switch (action) {
            case SLEEP -> FarmListener.KeepAlive.SLEEP;
            case ARCHIVE -> FarmListener.KeepAlive.ARCHIVE;
            case DESTROY -> FarmListener.KeepAlive.DESTROY;
        };
    }

    private boolean carryOut(VmRecord vm, KeepAlivePolicy.Due due) {
        VmOperations operations = manager.operations;
        String reason = "lifecycle: " + due.reason();
        return switch (due.action()) {
            case SLEEP -> operations.sleep(vm, reason).isPresent();
            case ARCHIVE -> operations.archiveAsKept(vm, due.tier(), reason).isPresent();
            case DESTROY -> operations.destroy(vm, reason).isPresent();
        };
    }

    /** Moves a VM off its drained host: archived first if it is in memory, then its archive to another host. */
    private boolean leaveDrained(VmRecord vm) {
        if (vm.state() != VmState.ARCHIVED && vm.state() != VmState.SLEEPING && vm.state() != VmState.ACTIVE) {
            return false;
        }
        VmRecord moved = manager.relocate(vm, null, "host " + vm.hostId() + " is drained");
        LOG.info("Drain: VM {} moved from {} to {}", vm.id(), vm.hostId(), moved.hostId());
        return true;
    }
}
