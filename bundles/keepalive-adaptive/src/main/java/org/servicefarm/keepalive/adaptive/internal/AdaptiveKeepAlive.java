package org.servicefarm.keepalive.adaptive.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.IdleTimes;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepaliveName;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

/**
 * The project's own keep-alive: a VM is worth its memory during a bin of idle time (15 seconds by default) when a
 * request is likely enough in it, given that none came before it. From each combination's idle-time histogram
 * ({@link IdleTimes}) it takes the hazard of each bin, {@code h(i) = count(i) / idle times reaching bin i}: being in memory
 * during bin i costs a VM-bin for every idle time that reaches it and saves a cold start for every one that ends in
 * it, so bins with {@code h(i) >= hazard.threshold} (cold starts saved per VM-minute spent, scaled to the bin's width)
 * are the bins to be warm; any others are not, however early or late they come. So a combination with several typical
 * gaps (a short one inside bursts, an hourly one between them) is warm around each, not from the first to the last as
 * a percentile window would be. Bins finer than the paper's minute let a VM of a timer every few minutes leave memory
 * between its requests: restoring it takes under a second.
 * <p>
 * Requests that come at random (idle times exponentially distributed, by Lilliefors' test at 5%; at 1% for a
 * combination that passed when its plan was last made, since the test is repeated after every request) leave a
 * histogram no bin says anything about; their hazard is the same in every minute, one over the mean idle time, and
 * when that reaches the threshold the VM stays in memory up to 4.6 mean idle times after each request (after that,
 * the exponential leaves the next request less than a 1% chance of still coming, {@code random.tail}: the arrivals
 * have changed).
 * <p>
 * Where a VM rests follows from what is expected next: between two warm bins closer than {@code sleep.gap.s} it
 * sleeps (a resume costs milliseconds and no disk); before a warm bin further away it is archived in the SAVED tier,
 * the fastest to restore, and brought back (restored) a lead before that bin; with nothing expected within the
 * histogram's range it goes straight to the COMPRESSED tier (three times smaller, restored about as fast), and to
 * DELTA later. Before its first idle times a combination's VM stays in memory a fixed keep-alive (4 hours, the paper's
 * fallback), so that a timer's second request finds it, unless one of them was already longer than that. Its
 * histogram covers 12 hours by default, not the paper's four, so that timers of four hours and more are seen; a warm
 * bin also warms its neighbours, as a timer's requests a few seconds late fall into the next bin.
 * <p>
 * Checkpoints are a resting state too ({@code rest.checkpoint}): a VM whose image a host holds a checkpoint of is
 * destroyed where it would be archived, since a new VM starts from the checkpoint faster than an archive is restored
 * (0.23 s through the appliance on the qemu driver, against 0.43 s for libvirt's restore of a saved state) and no
 * archive of the guest's memory is written per rest; the policy asks for a checkpoint of each combination whose VMs it
 * brings back ahead of expected requests (a timer's: one archive written and restored per period otherwise).
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
                + "one VM-minute must save (one per 90 VM-minutes by default). Lower keeps more in memory.")
        double hazard_threshold() default 1.0 / 90;

        @AttributeDefinition(name = "range (minutes)", description = "The longest idle time the histogram "
                + "covers; longer ones count only as reaching past it. Longer than the paper's four hours, so that "
                + "four-hourly and longer timers are seen.")
        int range_minutes() default 720;

        @AttributeDefinition(name = "minimum idle times", description = "How many idle times a combination needs "
                + "before its histogram decides (one cannot tell a timer from requests at random).")
        int samples_min() default 2;

        @AttributeDefinition(name = "bin (s)", description = "The width of the histogram's bins. Finer than a "
                + "minute, a VM of a timer every few minutes can leave memory between its requests (a restore takes "
                + "under a second) instead of staying through the whole period.")
        int bin_s() default 15;

        @AttributeDefinition(name = "jitter (s)", description = "How far on either side of a warm bin the bins are "
                + "warm too: a timer's requests a few seconds early or late fall into the next bin.")
        int jitter_s() default 15;

        @AttributeDefinition(name = "fallback keep-alive (s)", description = "With fewer idle times, a VM stays in "
                + "memory this long after its combination's last request (as the paper's fallback: 4 hours, so that "
                + "a timer's second request finds it).")
        long fallback_keepAlive_s() default 14_400;

        @AttributeDefinition(name = "random arrivals: minimum idle times", description = "With at least this many "
                + "idle times, a combination whose idle times look drawn at random (exponentially distributed, "
                + "Lilliefors' test at 5%: no histogram predicts them) has the same hazard in every minute, one over "
                + "its mean idle time; when that reaches the hazard threshold its VM stays in memory after a request "
                + "as long as 'random arrivals: tail' says. 0: off.")
        int random_samples_min() default 2;

        @AttributeDefinition(name = "random arrivals: tail", description = "A combination with requests at random "
                + "stays in memory after a request until the exponential leaves the next request less than this "
                + "chance of still coming (0.05: three mean idle times; 0.01: 4.6); idle longer, the arrivals have "
                + "changed.")
        double random_tail() default 0.01;

        @AttributeDefinition(name = "sleep gap (s)", description = "Between two warm bins at most this far apart "
                + "a VM sleeps instead of being archived.")
        long sleep_gap_s() default 120;

        @AttributeDefinition(name = "pre-warm lead (s)", description = "How long before a warm bin a VM is brought "
                + "back: at least the lifecycle's sweep interval plus a restore.")
        long prewarm_lead_s() default 30;

        @AttributeDefinition(name = "rest as a checkpoint", description = "A VM whose image a host taking new VMs "
                + "holds a checkpoint of is destroyed where it would be archived (and an archived one at once): a new "
                + "VM starts from the checkpoint faster than an archive is restored, and no archive is written per "
                + "rest. The images of combinations whose VMs are archived and restored ahead of each expected "
                + "request are checkpointed for it. Off: guests keep state between requests that is worth keeping.")
        boolean rest_checkpoint() default true;

        @AttributeDefinition(name = "T_delta (s)", description = "An archive this old is kept as a delta against its "
                + "image's base. 0: never.")
        long delta_after_s() default 21600;

        @AttributeDefinition(name = "T_destroy (s)", description = "An archived VM this old is destroyed. 0: never.")
        long destroy_after_s() default 604_800;
    }

    /** What each bin of idle time is for: in memory (warm), asleep between two warm ones (bridge), or neither. */
    enum Minute { COLD, WARM, BRIDGE }

    /**
     * One combination's plan, made from its histogram when it had {@code samples} idle times; a bin per entry; whether
     * its idle times passed for exponential; and what it reads in them, in words.
     */
    record Plan(long samples, Minute[] minutes, boolean exponential, String reading) {
        /** The first WARM bin at or after {@code bin}, or -1. */
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

        /** Whether a VM leaves memory after a request and is brought back before an expected one (a timer's). */
        boolean bringsBack() {
            boolean left = false;
            for (Minute minute : minutes) {
                if (minute == Minute.COLD) {
                    left = true;
                } else if (minute == Minute.WARM && left) {
                    return true;
                }
            }
            return false;
        }

        /** The stretch of bins in memory (warm, or asleep between two warm ones) around {@code bin}: {from, to}. */
        int[] inMemoryAround(int bin) {
            int from = bin;
            while (from > 0 && at(from - 1) != Minute.COLD) {
                from--;
            }
            int to = bin;
            while (at(to) != Minute.COLD) {
                to++;
            }
            return new int[] {from, to};
        }
    }

    /** The configuration's values, read once: a configuration proxy is too slow to ask on every sweep. */
    record Settings(double hazard, int range, int samples, int binS, int jitter, int randomSamples, double randomMeans,
                    long fallbackS, long sleepGapS, long leadS, long deltaAfterS, long destroyAfterS,
                    boolean restCheckpoint) {
        Settings(Config c) {
            this(c.hazard_threshold(), c.range_minutes(), c.samples_min(), c.bin_s(),
                    (c.jitter_s() + c.bin_s() - 1) / c.bin_s(), c.random_samples_min(), -Math.log(c.random_tail()),
                    c.fallback_keepAlive_s(), c.sleep_gap_s(),
                    c.prewarm_lead_s(), c.delta_after_s(), c.destroy_after_s(), c.rest_checkpoint());
        }

        /** How many bins the range has. */
        int bins() {
            return (int) ((long) range * 60 / binS);
        }

        /** The bin an idle time falls into. */
        int bin(Duration idle) {
            return (int) Math.min(idle.toMillis() / (binS * 1000L), Integer.MAX_VALUE);
        }
    }

    private final Map<Offering, IdleTimes> idle = new ConcurrentHashMap<>();
    private final Map<Offering, Plan> plans = new ConcurrentHashMap<>();
    private final ConfiguredSettings<Config, Settings> settings = new ConfiguredSettings<>(PID, Config.class,
            AdaptiveKeepAlive::settings);

    @Activate
    @Modified
    public void configure(Config config, ComponentContext context) {
        Settings before = settings.inForce();
        Settings after = settings.accept(context, config);
        if (before != null && (before.range() != after.range() || before.binS() != after.binS())) {
            idle.clear(); // bins of another range or width: learn again
        }
        plans.clear();
    }

    @Deactivate
    void deactivate() {
        settings.close();
    }

    static Settings settings(Config config) {
        if (config.hazard_threshold() <= 0 || config.hazard_threshold() > 1) {
            throw new IllegalArgumentException("hazard.threshold must be above 0 and at most 1");
        }
        if (config.range_minutes() < 1 || config.range_minutes() > 10_080) {
            throw new IllegalArgumentException("range.minutes must be from 1 to 10080 (a week)");
        }
        if (!(config.random_tail() > 0 && config.random_tail() < 1)) {
            throw new IllegalArgumentException("random.tail must be above 0 and below 1");
        }
        if (config.bin_s() < 1 || config.bin_s() > 3600 || config.jitter_s() < 0 || config.random_samples_min() < 0) {
            throw new IllegalArgumentException(
                    "bin.s must be from 1 to 3600, jitter.s and random.samples.min not negative");
        }
        return new Settings(config);
    }

    @Override
    public void requested(Offering offering, Instant at) {
        Settings c = settings.inForce();
        idle.computeIfAbsent(offering, k -> new IdleTimes(c.bins(), Duration.ofSeconds(c.binS()))).record(at);
    }

    /** The combination's plan, made again once it has more idle times; {@code null} while it has too few. */
    Plan plan(Offering offering, IdleTimes times) {
        Settings c = settings.inForce();
        long samples = times.inBounds() + times.outOfBounds();
        if (samples < c.samples()) {
            return null;
        }
        Plan known = plans.get(offering);
        if (known != null && known.samples() == samples) {
            return known;
        }
        Plan made = plan(times.counts(), samples, times.mean().toMillis() / 60_000.0, c,
                known != null && known.exponential());
        plans.put(offering, made);
        return made;
    }

    static Plan plan(int[] counts, long samples, Settings c) {
        return plan(counts, samples, Double.NaN, c);
    }

    /**
     * The plan for a histogram of {@code samples} idle times ({@code counts} in range) whose mean, those past the range
     * included, is {@code meanMinutes} (NaN: unknown).
     */
    static Plan plan(int[] counts, long samples, double meanMinutes, Settings c) {
        return plan(counts, samples, meanMinutes, c, false);
    }

    /**
     * As {@link #plan(int[], long, double, Settings)}, for a combination whose idle times passed for exponential
     * ({@code wasExponential}) when its plan was last made: the test is then passed at 1% instead of 5%. It is made
     * again after every request, so at 5% each time requests truly at random would be taken for a pattern now and then
     * (over three days, the combination at the 75th percentile lost six requests so), and a pattern would pass
     * for random as seldom as before.
     */
    static Plan plan(int[] counts, long samples, double meanMinutes, Settings c, boolean wasExponential) {
        int bins = counts.length;
        Minute[] minutes = new Minute[bins];
        java.util.Arrays.fill(minutes, Minute.COLD);
        String random = null;
        double perBin = c.hazard() * c.binS() / 60.0; // the threshold is per VM-minute, a bin is binS seconds of it
        long reaching = samples;
        for (int bin = 0; bin < bins; bin++) {
            if (reaching > 0 && counts[bin] > 0 && (double) counts[bin] / reaching >= perBin) {
                for (int near = Math.max(0, bin - c.jitter()); near <= Math.min(bins - 1, bin + c.jitter()); near++) {
                    minutes[near] = Minute.WARM;
                }
            }
            reaching -= counts[bin];
        }
        double meanBins = meanMinutes * 60 / c.binS();
        boolean exponential = c.randomSamples() > 0 && samples >= c.randomSamples() && meanMinutes > 0
                && random(counts, samples, meanBins, wasExponential ? LILLIEFORS_1 : LILLIEFORS_5);
        if (exponential && 1 / meanMinutes >= c.hazard()) {
            // the same hazard in every minute: warm until the exponential leaves the next request less than the
            // tail's chance of still coming (-ln(tail) mean idle times); idle longer, the arrivals have changed
            int warmBins = (int) Math.min(bins, Math.ceil(c.randomMeans() * meanBins));
            java.util.Arrays.fill(minutes, 0, warmBins, Minute.WARM);
            random = "requests at random, " + FixedFormat.human(Duration.ofSeconds(Math.round(meanMinutes * 60)))
                    + " apart on average: ";
        }
        long gap = c.sleepGapS() / c.binS();
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
        String stretches = inMemory(minutes, c);
        return new Plan(samples, minutes, exponential, stretches == null
                ? "no idle time likely enough to end in a request to be worth memory"
                : (random != null ? random : "learned from its idle times: ") + stretches);
    }

    /**
     * The stretches of idle time a plan keeps a VM in memory for (asleep between close warm bins included), in words:
     * "in memory up to 30 s, from 29 min 45 s to 30 min 30 s after a request"; {@code null} when there are none.
     */
    private static String inMemory(Minute[] minutes, Settings c) {
        List<String> stretches = new ArrayList<>();
        int bin = 0;
        while (bin < minutes.length) {
            if (minutes[bin] != Minute.WARM) {
                bin++;
                continue;
            }
            int end = bin;
            while (end < minutes.length && minutes[end] != Minute.COLD) {
                end++;
            }
            String to = FixedFormat.human(Duration.ofSeconds((long) end * c.binS()));
            stretches.add(bin == 0 ? "up to " + to
                    : "from " + FixedFormat.human(Duration.ofSeconds((long) bin * c.binS())) + " to " + to);
            bin = end;
        }
        if (stretches.isEmpty()) {
            return null;
        }
        String shown = String.join(", ", stretches.subList(0, Math.min(3, stretches.size())));
        return "in memory " + shown + (stretches.size() > 3 ? " and " + (stretches.size() - 3) + " more stretches"
                : "") + " after a request";
    }

    /** Lilliefors' test for the exponential with an estimated mean (Stephens' modified statistic): at 5%, at 1%. */
    static final double LILLIEFORS_5 = 1.094;
    static final double LILLIEFORS_1 = 1.308;

    static boolean random(int[] counts, long samples, double meanBins) {
        return random(counts, samples, meanBins, LILLIEFORS_5);
    }

    /**
     * Whether idle times look exponentially distributed with the given mean (in bins): the largest distance between
     * their distribution and the exponential one, at the bins' edges and at the range's end, is under Lilliefors'
     * bound for the exponential with its mean estimated from the same idle times,
     * {@code critical / (sqrt(n) + 0.26 + 0.5 / sqrt(n))} ({@link #LILLIEFORS_5}, {@link #LILLIEFORS_1}).
     */
    static boolean random(int[] counts, long samples, double meanBins, double critical) {
        double root = Math.sqrt(samples);
        double bound = critical / (root + 0.26 + 0.5 / root);
        long below = 0;
        for (int bin = 0; bin < counts.length; bin++) {
            if (Math.abs((double) below / samples - (1 - Math.exp(-bin / meanBins))) > bound) {
                return false;
            }
            below += counts[bin];
        }
        return Math.abs((double) below / samples - (1 - Math.exp(-counts.length / meanBins))) <= bound;
    }

    /**
     * As {@link #due(VmRecord, Instant, double)}, but a VM whose image is checkpointed rests as the checkpoint: where
     * it would be archived (in any tier) it is destroyed, and an archived one is destroyed at once, which frees its
     * archive. Its combination's next VM, pre-warmed or asked for, starts from the checkpoint.
     */
    @Override
    public Optional<Due> due(VmRecord vm, Instant now, Context context) {
        Optional<Due> due = due(vm, now, context.offeringRequestsPerMinute());
        if (!settings.inForce().restCheckpoint() || !context.checkpointed()
                || due.isPresent() && due.get().action() != Action.ARCHIVE) {
            return due;
        }
        if (due.isPresent()) {
            return Optional.of(new Due(Action.DESTROY, null, due.get().reason() + "; rests as its image's checkpoint "
                    + "instead of an archive (a new VM starts from it faster than an archive is restored)"));
        }
        return vm.state() == VmState.ARCHIVED ? Optional.of(new Due(Action.DESTROY, null, "its image is checkpointed: "
                + "its next VM starts from the checkpoint faster than the archive is restored, so the archive goes"))
                : due;
    }

    /** The combinations whose VMs the plan archives and restores ahead of expected requests: a checkpoint serves. */
    @Override
    public List<Offering> checkpoint(Instant now) {
        if (!settings.inForce().restCheckpoint()) {
            return List.of();
        }
        List<Offering> wanted = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Plan plan = plan(offering, times);
            if (plan != null && plan.bringsBack()) {
                wanted.add(offering);
            }
        });
        return wanted;
    }

    @Override
    public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
        Settings c = settings.inForce();
        IdleTimes times = idle.get(vm.offering());
        Plan plan = times == null ? null : plan(vm.offering(), times);
        if (vm.state() == VmState.ARCHIVED) {
            return archived(vm, now, c);
        }
        Instant last = times == null || times.last() == null ? vm.lastActivity() : times.last();
        Duration since = Duration.between(last, now);
        if (plan == null) {
            if (times != null && longerThanFallback(times, c)) {
                return Optional.of(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "too few idle times to learn from, "
                        + "one of them longer than the fallback keep-alive: not kept for the next"));
            }
            return since.toSeconds() >= c.fallbackS()
                    ? Optional.of(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "idle " + since.toMinutes()
                    + " min, too few idle times to learn from")) : Optional.empty();
        }
        int bin = c.bin(since);
        int ahead = c.bin(since.plusSeconds(c.leadS()));
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
                + " min; next request likely after " + FixedFormat.human(Duration.ofSeconds((long) next * c.binS()))
                + ": restored before then"));
    }

    /**
     * Whether a combination still learning had an idle time longer than the fallback keep-alive: its next one is then
     * likely as long, and another fallback in memory would most likely be spent for nothing (on a day of the synthetic
     * trace, 30 VM-hours on combinations whose requests come hours apart).
     */
    static boolean longerThanFallback(IdleTimes times, Settings c) {
        if (times.outOfBounds() > 0) {
            return true;
        }
        int[] counts = times.counts();
        for (int bin = c.bin(Duration.ofSeconds(c.fallbackS())); bin < counts.length; bin++) {
            if (counts[bin] > 0) {
                return true;
            }
        }
        return false;
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
    public List<KeepAliveOutlook> outlook(Instant now) {
        Settings c = settings.inForce();
        List<KeepAliveOutlook> all = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Instant last = times.last();
            if (last == null) {
                return;
            }
            long samples = times.inBounds() + times.outOfBounds();
            Plan plan = plan(offering, times);
            if (plan == null) {
                Instant until = last.plusSeconds(c.fallbackS());
                if (longerThanFallback(times, c)) {
                    all.add(new KeepAliveOutlook(offering, last, samples, null, null, "too few idle times to learn "
                            + "from (" + samples + " of " + c.samples() + "), one of them longer than "
                            + FixedFormat.human(Duration.ofSeconds(c.fallbackS())) + ": not kept for the next"));
                    return;
                }
                boolean over = !now.isBefore(until);
                all.add(new KeepAliveOutlook(offering, last, samples, over ? null : last, over ? null : until,
                        "too few idle times to learn from (" + samples + " of " + c.samples() + "): in memory "
                                + FixedFormat.human(Duration.ofSeconds(c.fallbackS())) + " after each request"));
                return;
            }
            int bin = c.bin(Duration.between(last, now));
            int start = plan.at(bin) != Minute.COLD ? bin : plan.nextWarm(bin);
            if (start < 0) {
                all.add(new KeepAliveOutlook(offering, last, samples, null, null, plan.reading()));
                return;
            }
            int[] stretch = plan.inMemoryAround(start);
            Instant from = last.plusSeconds(Math.max(0, (long) stretch[0] * c.binS() - c.leadS()));
            all.add(new KeepAliveOutlook(offering, last, samples, from, last.plusSeconds((long) stretch[1] * c.binS()),
                    plan.reading()));
        });
        return all;
    }

    @Override
    public List<Offering> prewarm(Instant now) {
        Settings c = settings.inForce();
        List<Offering> due = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Plan plan = plan(offering, times);
            Instant last = times.last();
            if (plan == null || last == null) {
                return;
            }
            Duration since = Duration.between(last, now);
            if (plan.at(c.bin(since.plusSeconds(c.leadS()))) == Minute.WARM) {
                due.add(offering);
            }
        });
        return due;
    }

    /** A duration as people write it: "45 s", "8 min", "7 min 45 s". */
    private static final class FixedFormat {
        static String human(Duration d) {
            long s = d.toSeconds();
            return s < 60 ? s + " s" : s % 60 == 0 ? s / 60 + " min" : s / 60 + " min " + s % 60 + " s";
        }
    }
}
