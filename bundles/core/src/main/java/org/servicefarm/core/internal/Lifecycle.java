package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.store.Leadership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle sweeper: on one scheduler thread, every sweep asks the keep-alive policy ({@link KeepAlive}, fixed
 * timers for now) what is due for each resting VM and carries it out (sleep, archive in a tier, destroy), moves the
 * VMs of drained hosts away, and every reconcile period has the host registry compare each host's guests with the
 * table. Each move is logged with its reason. The clock is injectable and {@link #sweep} public to the package, so
 * tests drive it with a virtual clock and never sleep.
 */
@Component(service = Lifecycle.class, configurationPid = Lifecycle.PID, immediate = true)
@Designate(ocd = Lifecycle.Config.class)
public class Lifecycle {

    static final String PID = "org.servicefarm.lifecycle";
    private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);

    @ObjectClassDefinition(name = "ServiceFarm VM lifecycle",
            description = "When idle VMs are put to sleep, archived (in which tier) and destroyed, when a service in "
                    + "demand keeps its VMs, and how often the table is reconciled with the hosts.")
    public @interface Config {
        @AttributeDefinition(name = "T_sleep (s)", description = "An ACTIVE VM not granted for this long is "
                + "suspended in memory (SLEEPING). 0: never.")
        long sleep_after_s() default 600;

        @AttributeDefinition(name = "T_archive (s)", description = "A VM SLEEPING for this long is archived (its state "
                + "saved to disk, its host's memory freed). 0: never.")
        long archive_after_s() default 1800;

        @AttributeDefinition(name = "first archive tier", description = "The tier a VM is archived in: SAVED, "
                + "COMPRESSED or DELTA.")
        String archive_tier() default "SAVED";

        @AttributeDefinition(name = "T_compress (s)", description = "An archive in the SAVED tier for this long (since "
                + "it was archived) is compressed. 0: never.")
        long compress_after_s() default 3600;

        @AttributeDefinition(name = "T_delta (s)", description = "An archive this old (since it was archived) is kept "
                + "as a delta against its image's base. 0: never.")
        long delta_after_s() default 21600;

        @AttributeDefinition(name = "T_destroy (s)", description = "An archived VM this old (since it was archived) is "
                + "destroyed and its archive removed. 0: never.")
        long destroy_after_s() default 604_800;

        @AttributeDefinition(name = "per application", description = "Timers of one application, overriding the "
                + "above: application:key=seconds;..., keys sleep, archive, tier (a tier name), compress, delta, "
                + "destroy; applications separated by commas, e.g. wiki:sleep=120;archive=600, blog:sleep=0.")
        String[] applications() default {};

        @AttributeDefinition(name = "in demand (requests/min)", description = "An offering asked for at least this "
                + "often (the popularity window's average) keeps its VMs ACTIVE however idle each is, and its sleeping "
                + "ones unarchived. 0: off.")
        double inDemand_requestsPerMinute() default 2;

        @AttributeDefinition(name = "sweep interval (s)", description = "How often the timers are checked.")
        long sweep_interval_s() default 15;

        @AttributeDefinition(name = "reconcile period (s)", description = "How often every host's guests are compared "
                + "with the table and drift repaired (stopped behind the farm's back, unknown or vanished guests). "
                + "0: only when a host connects.")
        long reconcile_period_s() default 60;
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
    private volatile KeepAlive policy;
    private ScheduledExecutorService scheduler;
    private ScheduledFuture<?> sweeping;
    private ScheduledFuture<?> reconciling;

    @Activate
    void activate(Config config) {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-lifecycle");
            t.setDaemon(true);
            return t;
        });
        configure(config);
        manager.lifecycle = this;
    }

    @Modified
    synchronized void configure(Config config) {
        policy = policy(config);
        if (sweeping != null) {
            sweeping.cancel(false);
        }
        if (reconciling != null) {
            reconciling.cancel(false);
        }
        long sweep = Math.max(1, config.sweep_interval_s());
        sweeping = scheduler.scheduleWithFixedDelay(this::sweepQuietly, sweep, sweep, TimeUnit.SECONDS);
        if (config.reconcile_period_s() > 0) {
            reconciling = scheduler.scheduleWithFixedDelay(this::reconcileIfLeading, config.reconcile_period_s(),
                    config.reconcile_period_s(), TimeUnit.SECONDS);
        }
    }

    @Deactivate
    void deactivate() {
        if (manager.lifecycle == this) {
            manager.lifecycle = null;
        }
        scheduler.shutdownNow();
    }

    /** Sweeps now, on the lifecycle's thread (a host was drained). */
    void sweepSoon() {
        try {
            scheduler.execute(this::sweepQuietly);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopping
        }
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

    private void sweepQuietly() {
        if (!leading()) {
            return;
        }
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.warn("Lifecycle sweep failed: {}", e.toString(), e);
        }
    }

    /**
     * One sweep: what the policy says is due for each resting VM, then the VMs of drained hosts moved away.
     *
     * @return how many VMs were moved
     */
    int sweep() {
        Instant now = clock.instant();
        KeepAlive inForce = policy;
        Map<String, Boolean> drained = new HashMap<>();
        for (HostStatus host : hosts.statuses()) {
            drained.put(host.name(), host.drained());
        }
        int moved = 0;
        for (VmRecord vm : table.occupying()) {
            if (manager.operations.waking(vm.id())) {
                continue;
            }
            try {
                if (drained.getOrDefault(vm.hostId(), false) && vm.state().reusable()) {
                    moved += leaveDrained(vm) ? 1 : 0;
                    continue;
                }
                Optional<KeepAlive.Due> due = inForce.due(vm, now, popularity.requestsPerMinute(vm.offering()));
                if (due.isPresent()) {
                    moved += carryOut(vm, due.get()) ? 1 : 0;
                }
            } catch (RuntimeException e) {
                LOG.warn("Lifecycle: VM {} could not be moved: {}", vm.id(), e.getMessage());
            }
        }
        return moved;
    }

    private boolean carryOut(VmRecord vm, KeepAlive.Due due) {
        VmOperations operations = manager.operations;
        String reason = "lifecycle: " + due.reason();
        return switch (due.action()) {
            case SLEEP -> operations.sleep(vm, reason).isPresent();
            case ARCHIVE -> operations.archive(vm, due.tier(), reason).isPresent();
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

    /** The fixed-timer policy of a configuration. */
    static FixedTimers policy(Config config) {
        FixedTimers.Timers defaults = new FixedTimers.Timers(seconds(config.sleep_after_s(), "sleep.after.s"),
                seconds(config.archive_after_s(), "archive.after.s"), tier(config.archive_tier()),
                seconds(config.compress_after_s(), "compress.after.s"), seconds(config.delta_after_s(), "delta.after.s"),
                seconds(config.destroy_after_s(), "destroy.after.s"));
        Map<String, FixedTimers.Timers> byApplication = new HashMap<>();
        for (String entry : Lists.split(config.applications())) {
            int colon = entry.indexOf(':');
            if (colon < 1) {
                throw new IllegalArgumentException("applications: '" + entry + "' must be application:key=seconds;...");
            }
            String application = entry.substring(0, colon).trim();
            FixedTimers.Timers t = defaults;
            for (String setting : entry.substring(colon + 1).split(";")) {
                String[] kv = setting.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("applications: '" + setting + "' must be key=value");
                }
                String key = kv[0].trim();
                String value = kv[1].trim();
                t = switch (key) {
                    case "sleep" -> new FixedTimers.Timers(seconds(value, key), t.archive(), t.first(), t.compress(),
                            t.delta(), t.destroy());
                    case "archive" -> new FixedTimers.Timers(t.sleep(), seconds(value, key), t.first(), t.compress(),
                            t.delta(), t.destroy());
                    case "tier" -> new FixedTimers.Timers(t.sleep(), t.archive(), tier(value), t.compress(), t.delta(),
                            t.destroy());
                    case "compress" -> new FixedTimers.Timers(t.sleep(), t.archive(), t.first(), seconds(value, key),
                            t.delta(), t.destroy());
                    case "delta" -> new FixedTimers.Timers(t.sleep(), t.archive(), t.first(), t.compress(),
                            seconds(value, key), t.destroy());
                    case "destroy" -> new FixedTimers.Timers(t.sleep(), t.archive(), t.first(), t.compress(), t.delta(),
                            seconds(value, key));
                    default -> throw new IllegalArgumentException("applications: unknown key '" + key + "' for "
                            + application + " (sleep, archive, tier, compress, delta, destroy)");
                };
            }
            byApplication.put(application, t);
        }
        if (config.inDemand_requestsPerMinute() < 0) {
            throw new IllegalArgumentException("inDemand.requestsPerMinute must not be negative");
        }
        return new FixedTimers(defaults, byApplication, config.inDemand_requestsPerMinute());
    }

    private static Duration seconds(String value, String key) {
        try {
            return seconds(Long.parseLong(value), key);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number of seconds, not '" + value + "'");
        }
    }

    private static Duration seconds(long value, String key) {
        if (value < 0) {
            throw new IllegalArgumentException(key + " must not be negative");
        }
        return Duration.ofSeconds(value);
    }

    private static ArchiveTier tier(String name) {
        try {
            return ArchiveTier.valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("archive tier must be SAVED, COMPRESSED or DELTA, not '" + name + "'");
        }
    }
}
