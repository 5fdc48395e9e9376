package org.servicefarm.keepalive.adaptive.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.IdleTimes;
import org.servicefarm.api.keepalive.KeepaliveName;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

/**
 * The project's own keep-alive: a VM is worth its memory during a minute of idle time when a request is likely
 * enough in that minute, given that none came before it. From each combination's idle-time histogram
 * ({@link IdleTimes}) it takes the hazard of each one-minute bin, {@code h(i) = count(i) / idle times of at least i
 * minutes}: being in memory during bin i costs a VM-minute for every idle time that reaches it and saves a cold start
 * for every one that ends in it, so bins with {@code h(i) >= hazard.threshold} (cold starts saved per VM-minute spent)
 * are the minutes to be warm; any others are not, however early or late they come. So a combination with several
 * typical gaps (a short one inside bursts, an hourly one between them) is warm around each, not from the first to the
 * last as a percentile window would be.
 * <p>
 * Where a VM rests follows from what is expected next: between two warm minutes closer than {@code sleep.gap.s} it
 * sleeps (a resume costs milliseconds and no disk); before a warm minute further away it is archived in the SAVED tier,
 * the fastest to restore, and brought back (restored) a lead before that minute; with nothing expected within the
 * histogram's range it goes straight to the COMPRESSED tier (three times smaller, restored about as fast), and to
 * DELTA later. With too few idle times a short fixed keep-alive applies. Its histogram covers 12 hours by default, not
 * the paper's four, so that timers of four hours and more are seen; a warm minute also warms its neighbours, as a
 * timer's requests a few seconds late fall into the next bin.
 */
@Component(configurationPid = AdaptiveKeepAlive.PID)
@KeepaliveName("adaptive")
@Designate(ocd = AdaptiveKeepAlive.Config.class)
public class AdaptiveKeepAlive implements KeepAlivePolicy {

    static final String PID = "org.servicefarm.keepalive.adaptive";

    @ObjectClassDefinition(name = "ServiceFarm keep-alive: adaptive",
            description = "Keeps a combination's VM in memory in the minutes of idle time when a request is likely "
                    + "enough, pre-warms before them, and chooses where it rests meanwhile.")
    public @interface Config {
        @AttributeDefinition(name = "hazard threshold (per minute)", description = "A minute of idle time is worth "
                + "a VM in memory when at least this share of the idle times that reach it end in it: the cold starts "
                + "one VM-minute must save. Lower keeps more in memory.")
        double hazard_threshold() default 0.05;

        @AttributeDefinition(name = "range (minutes)", description = "The longest idle time the histogram of "
                + "one-minute bins covers; longer ones count only as reaching past it. Longer than the paper's four "
                + "hours, so that four-hourly and longer timers are seen.")
        int range_minutes() default 720;

        @AttributeDefinition(name = "minimum idle times", description = "How many idle times a combination needs "
                + "before its histogram decides.")
        int samples_min() default 1;

        @AttributeDefinition(name = "jitter (minutes)", description = "The minutes on either side of a warm minute "
                + "that are warm too: a timer's requests a few seconds early or late fall into the next bin.")
        int jitter_minutes() default 1;

        @AttributeDefinition(name = "fallback keep-alive (s)", description = "With fewer idle times, a VM stays in "
                + "memory this long after its combination's last request.")
        long fallback_keepAlive_s() default 300;

        @AttributeDefinition(name = "sleep gap (s)", description = "Between two warm minutes at most this far apart "
                + "a VM sleeps instead of being archived.")
        long sleep_gap_s() default 120;

        @AttributeDefinition(name = "pre-warm lead (s)", description = "How long before a warm minute a VM is brought "
                + "back: at least the lifecycle's sweep interval plus a restore.")
        long prewarm_lead_s() default 30;

        @AttributeDefinition(name = "T_delta (s)", description = "An archive this old is kept as a delta against its "
                + "image's base. 0: never.")
        long delta_after_s() default 21600;

        @AttributeDefinition(name = "T_destroy (s)", description = "An archived VM this old is destroyed. 0: never.")
        long destroy_after_s() default 604_800;
    }

    /** What each minute of idle time is for: in memory (warm), asleep between two warm ones (bridge), or neither. */
    enum Minute { COLD, WARM, BRIDGE }

    /** One combination's plan, made from its histogram when it had {@code samples} idle times. */
    record Plan(long samples, Minute[] minutes) {
        /** The first WARM minute at or after {@code bin}, or -1. */
        int nextWarm(int bin) {
            for (int i = Math.max(0, bin); i < minutes.length; i++) {
                if (minutes[i] == Minute.WARM) {
                    return i;
                }
            }
            return -1;
        }

        Minute at(int bin) {
            return bin < 0 || bin >= minutes.length ? Minute.COLD : minutes[bin];
        }
    }

    /** The configuration's values, read once: a configuration proxy is too slow to ask on every sweep. */
    record Settings(double hazard, int range, int samples, int jitter, long fallbackS, long sleepGapS, long leadS,
                    long deltaAfterS, long destroyAfterS) {
        Settings(Config c) {
            this(c.hazard_threshold(), c.range_minutes(), c.samples_min(), c.jitter_minutes(), c.fallback_keepAlive_s(), c.sleep_gap_s(),
                    c.prewarm_lead_s(), c.delta_after_s(), c.destroy_after_s());
        }
    }

    private final Map<Offering, IdleTimes> idle = new ConcurrentHashMap<>();
    private final Map<Offering, Plan> plans = new ConcurrentHashMap<>();
    private volatile Settings config;

    @Activate
    @Modified
    public void configure(Config config) {
        if (config.hazard_threshold() <= 0 || config.hazard_threshold() > 1) {
            throw new IllegalArgumentException("hazard.threshold must be above 0 and at most 1");
        }
        if (config.range_minutes() < 1 || config.range_minutes() > 10_080) {
            throw new IllegalArgumentException("range.minutes must be from 1 to 10080 (a week)");
        }
        if (this.config != null && this.config.range() != config.range_minutes()) {
            idle.clear(); // bins of another range: learn again
        }
        this.config = new Settings(config);
        plans.clear();
    }

    @Override
    public void requested(Offering offering, Instant at) {
        int range = config.range();
        idle.computeIfAbsent(offering, k -> new IdleTimes(range)).record(at);
    }

    /** The combination's plan, made again once it has more idle times; {@code null} while it has too few. */
    Plan plan(Offering offering, IdleTimes times) {
        long samples = times.inBounds() + times.outOfBounds();
        if (samples < config.samples()) {
            return null;
        }
        Plan known = plans.get(offering);
        if (known != null && known.samples() == samples) {
            return known;
        }
        Plan made = plan(times.counts(), samples, config);
        plans.put(offering, made);
        return made;
    }

    static Plan plan(int[] counts, long samples, Settings c) {
        Minute[] minutes = new Minute[counts.length];
        java.util.Arrays.fill(minutes, Minute.COLD);
        long reaching = samples; // idle times of at least this many minutes, those past the range included
        for (int bin = 0; bin < counts.length; bin++) {
            if (reaching > 0 && counts[bin] > 0 && (double) counts[bin] / reaching >= c.hazard()) {
                for (int near = Math.max(0, bin - c.jitter()); near <= Math.min(counts.length - 1, bin + c.jitter());
                     near++) {
                    minutes[near] = Minute.WARM;
                }
            }
            reaching -= counts[bin];
        }
        long gap = c.sleepGapS() / IdleTimes.BIN.toSeconds();
        int previous = -1;
        for (int bin = 0; bin < minutes.length; bin++) {
            if (minutes[bin] != Minute.WARM) {
                continue;
            }
            if (previous >= 0 && bin - previous - 1 <= gap) {
                for (int between = previous + 1; between < bin; between++) {
                    minutes[between] = Minute.BRIDGE;
                }
            }
            previous = bin;
        }
        return new Plan(samples, minutes);
    }

    @Override
    public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
        Settings c = config;
        IdleTimes times = idle.get(vm.offering());
        Plan plan = times == null ? null : plan(vm.offering(), times);
        if (vm.state() == VmState.ARCHIVED) {
            return archived(vm, now, c);
        }
        Instant last = times == null || times.last() == null ? vm.lastActivity() : times.last();
        Duration since = Duration.between(last, now);
        if (plan == null) {
            return since.toSeconds() >= c.fallbackS()
                    ? Optional.of(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "idle " + since.toMinutes()
                    + " min, too few idle times to learn from")) : Optional.empty();
        }
        int bin = bin(since);
        int ahead = bin(since.plusSeconds(c.leadS()));
        if (plan.at(bin) == Minute.WARM || plan.at(ahead) == Minute.WARM) {
            return Optional.empty();
        }
        if (plan.at(bin) == Minute.BRIDGE) {
            return vm.state() == VmState.ACTIVE ? Optional.of(new Due(Action.SLEEP, null, "idle " + since.toMinutes()
                    + " min; a request is likely again within " + c.sleepGapS() / 60 + " min")) : Optional.empty();
        }
        int next = plan.nextWarm(bin);
        return next < 0
                ? Optional.of(new Due(Action.ARCHIVE, ArchiveTier.COMPRESSED, "idle " + since.toMinutes()
                + " min; no request likely within the histogram's range"))
                : Optional.of(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "idle " + since.toMinutes()
                + " min; next request likely after " + next + " min: restored before then"));
    }

    /** An archive goes to DELTA, then is destroyed, by age; nothing is done to it while it is expected back. */
    private static Optional<Due> archived(VmRecord vm, Instant now, Settings c) {
        Duration age = Duration.between(vm.inStateSince(), now);
        if (c.destroyAfterS() > 0 && age.toSeconds() >= c.destroyAfterS()) {
            return Optional.of(new Due(Action.DESTROY, null, "archived for " + age.toHours() + " h"));
        }
        ArchiveTier tier = vm.archive() == null ? ArchiveTier.SAVED : vm.archive().tier();
        if (c.deltaAfterS() > 0 && age.toSeconds() >= c.deltaAfterS() && tier != ArchiveTier.DELTA) {
            return Optional.of(new Due(Action.ARCHIVE, ArchiveTier.DELTA, "archived for " + age.toHours() + " h"));
        }
        return Optional.empty();
    }

    @Override
    public List<Offering> prewarm(Instant now) {
        Settings c = config;
        List<Offering> due = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Plan plan = plan(offering, times);
            Instant last = times.last();
            if (plan == null || last == null) {
                return;
            }
            Duration since = Duration.between(last, now);
            if (plan.at(bin(since.plusSeconds(c.leadS()))) == Minute.WARM) {
                due.add(offering);
            }
        });
        return due;
    }

    private static int bin(Duration idle) {
        long bin = idle.toMillis() / IdleTimes.BIN.toMillis();
        return (int) Math.min(bin, Integer.MAX_VALUE);
    }
}
