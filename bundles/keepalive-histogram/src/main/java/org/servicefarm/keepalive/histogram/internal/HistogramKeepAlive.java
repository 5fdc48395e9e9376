package org.servicefarm.keepalive.histogram.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
import org.servicefarm.api.keepalive.IdleTimes;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepaliveName;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

/**
 * The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020, section 4.2), per
 * combination: its idle times in a histogram of one-minute bins over four hours ({@link IdleTimes}; {@code
 * range.minutes}); the pre-warming window is the head (5th percentile, less a 10% margin) and the keep-alive window
 * ends at the tail (99th percentile, plus 10%). After a request the combination's VMs leave memory (archived) until the
 * pre-warming window, when one is brought back, and stay until the keep-alive window ends; with a head of zero they
 * stay from the request to the tail. The histogram is representative when the coefficient of variation of its bins'
 * counts is at least 2; while it is not (no idle time yet, or idle times spread evenly) a VM stays in memory a fixed
 * keep-alive after each request, the histogram's range (4 hours) as in the paper. When more than half the idle times
 * are past the range, the paper forecasts the next idle time with ARIMA; this policy forecasts it as the mean of the
 * idle times seen (what an ARIMA fit gives for independent idle times) and keeps a VM in memory from 15% before to 15%
 * after it, the paper's margin for forecasts.
 * <p>
 * Idle times run from one request to the next, as the appliance sees them; with {@code idleTimes.perMinute} they are
 * counted as the paper's per-minute data gives them: a minute with requests is busy, an idle time runs from the end of
 * one busy minute to the start of the next, and the windows count from the end of the last busy minute.
 * <p>
 * Simplified from the paper: the mean instead of an ARIMA model; "unloading" is archiving (the farm's state that holds
 * no memory) and "loading" is the core's wake (restore) or creation; and the windows are checked at each lifecycle
 * sweep, so the VM is brought back a configured lead before the window opens.
 */
@Component(configurationPid = HistogramKeepAlive.PID)
@KeepaliveName("histogram")
@Designate(ocd = HistogramKeepAlive.Config.class)
public class HistogramKeepAlive implements KeepAlivePolicy {

    static final String PID = "org.servicefarm.keepalive.histogram";

    @ObjectClassDefinition(name = "ServiceFarm keep-alive: hybrid histogram",
            description = "Per-combination idle-time histograms decide when VMs leave memory and when one is brought "
                    + "back before the next expected request.")
    public @interface Config {
        @AttributeDefinition(name = "head percentile", description = "The percentile of idle times that opens the "
                + "pre-warming window.")
        double head_percentile() default 5;

        @AttributeDefinition(name = "tail percentile", description = "The percentile of idle times that ends the "
                + "keep-alive window.")
        double tail_percentile() default 99;

        @AttributeDefinition(name = "margin", description = "The share by which the head is made earlier and the "
                + "tail later.")
        double margin() default 0.10;

        @AttributeDefinition(name = "coefficient of variation", description = "The least coefficient of variation of "
                + "the bins' counts for the histogram to count as a pattern.")
        double cv_threshold() default 2;

        @AttributeDefinition(name = "out-of-bounds share", description = "The largest share of idle times past the "
                + "range for the histogram to count.")
        double outOfBounds_max() default 0.5;

        @AttributeDefinition(name = "range (minutes)", description = "The longest idle time the histogram covers, in "
                + "one-minute bins (the paper: 240); longer ones count as out of bounds. The fallback keep-alive is "
                + "the range in the paper, so set both together.")
        int range_minutes() default 240;

        @AttributeDefinition(name = "minimum idle times", description = "How many idle times a combination needs "
                + "before its histogram counts (the paper: one, as a single idle time makes the bins' coefficient of "
                + "variation high).")
        int samples_min() default 1;

        @AttributeDefinition(name = "fallback keep-alive (s)", description = "While the histogram does not count, a "
                + "VM stays in memory this long after its combination's last request (the paper: the histogram's "
                + "range, 4 hours).")
        long fallback_keepAlive_s() default 14_400;

        @AttributeDefinition(name = "forecast margin", description = "When most idle times are past the range, "
                + "the next one is forecast (the mean of those seen) and a VM is in memory from this share before to "
                + "this share after it.")
        double forecast_margin() default 0.15;

        @AttributeDefinition(name = "pre-warm lead (s)", description = "How long before the pre-warming window opens "
                + "a VM is brought back: at least the lifecycle's sweep interval plus a restore.")
        long prewarm_lead_s() default 30;

        @AttributeDefinition(name = "archive tier", description = "The tier a VM leaving memory is archived in.")
        String archive_tier() default "SAVED";

        @AttributeDefinition(name = "T_destroy (s)", description = "An archived VM this old is destroyed. 0: never.")
        long destroy_after_s() default 604_800;

        @AttributeDefinition(name = "idle times per minute", description = "Count idle times as the paper's per-minute "
                + "data gives them: a minute with requests is busy, an idle time runs from the end of one busy minute "
                + "to the start of the next, and the windows count from the end of the last busy minute (which the "
                + "outlook then shows as the last request).")
        boolean idleTimes_perMinute() default false;
    }

    /** The windows of one combination, in idle time since its last request; {@code head} zero: no pre-warming. */
    record Windows(Duration head, Duration tail, boolean pattern, String why) {
    }

    /** The configuration's values, read once: a configuration proxy is too slow to ask on every sweep. */
    record Settings(int range, double head, double tail, double margin, double cv, double outOfBounds, int samples,
                    Duration fallback, double forecastMargin, Duration lead, ArchiveTier tier, long destroyAfterS,
                    boolean perMinute) {
    }

    private final Map<Offering, IdleTimes> idle = new ConcurrentHashMap<>();
    private final ConfiguredSettings<Config, Settings> settings = new ConfiguredSettings<>(PID, Config.class,
            HistogramKeepAlive::settings);

    @Activate
    @Modified
    public void configure(Config config, ComponentContext context) {
        Settings before = settings.inForce();
        Settings after = settings.accept(context, config);
        if (before != null && (before.range() != after.range() || before.perMinute() != after.perMinute())) {
            idle.clear(); // bins over another range, or idle times counted otherwise: learn again
        }
    }

    @Deactivate
    void deactivate() {
        settings.close();
    }

    static Settings settings(Config config) {
        if (config.margin() < 0 || config.margin() >= 1 || config.head_percentile() < 0
                || config.tail_percentile() > 100 || config.head_percentile() > config.tail_percentile()
                || config.forecast_margin() < 0 || config.forecast_margin() >= 1) {
            throw new IllegalArgumentException("percentiles must be 0 <= head <= tail <= 100 and the margins 0 to 1");
        }
        if (config.range_minutes() < 1 || config.range_minutes() > 10_080) {
            throw new IllegalArgumentException("range.minutes must be from 1 to 10080 (a week)");
        }
        return new Settings(config.range_minutes(), config.head_percentile(), config.tail_percentile(),
                config.margin(), config.cv_threshold(), config.outOfBounds_max(), config.samples_min(),
                Duration.ofSeconds(config.fallback_keepAlive_s()), config.forecast_margin(),
                Duration.ofSeconds(config.prewarm_lead_s()), ArchiveTier.of("archive.tier", config.archive_tier()),
                config.destroy_after_s(), config.idleTimes_perMinute());
    }

    @Override
    public void requested(Offering offering, Instant at) {
        Settings c = settings.inForce();
        IdleTimes times = idle.computeIfAbsent(offering, k -> new IdleTimes(c.range()));
        if (c.perMinute()) {
            Instant minute = at.truncatedTo(ChronoUnit.MINUTES);
            times.record(minute, minute.plus(IdleTimes.BIN));
        } else {
            times.record(at);
        }
    }

    /** What the policy learned of a combination, or {@code null}. */
    IdleTimes idleTimes(Offering offering) {
        return idle.get(offering);
    }

    /** The combination's windows now. */
    Windows windows(IdleTimes times) {
        Settings c = settings.inForce();
        Duration fallback = c.fallback();
        if (times.inBounds() + times.outOfBounds() < c.samples()) {
            return new Windows(Duration.ZERO, fallback, false, "too few idle times");
        }
        if (times.outOfBoundsFraction() > c.outOfBounds()) {
            Duration next = times.mean();
            long nextMs = next.toMillis();
            return new Windows(Duration.ofMillis(Math.round(nextMs * (1 - c.forecastMargin()))),
                    Duration.ofMillis(Math.round(nextMs * (1 + c.forecastMargin()))), true,
                    "idle times mostly past " + c.range() + " min: next forecast in " + next.toMinutes() + " min");
        }
        double cv = times.binCountVariation();
        if (cv < c.cv()) {
            return new Windows(Duration.ZERO, fallback, false, String.format(Locale.ROOT, "CV %.2f", cv));
        }
        // the head bin's lower edge, the tail bin's upper edge, each widened by the margin
        long headMs = Math.round(times.percentileBin(c.head()) * IdleTimes.BIN.toMillis() * (1 - c.margin()));
        long tailMs = Math.round((times.percentileBin(c.tail()) + 1) * IdleTimes.BIN.toMillis() * (1 + c.margin()));
        return new Windows(Duration.ofMillis(headMs), Duration.ofMillis(tailMs), true,
                String.format(Locale.ROOT, "CV %.2f", cv));
    }

    @Override
    public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
        Settings c = settings.inForce();
        if (vm.state() == org.servicefarm.api.VmState.ARCHIVED) {
            Duration archived = Duration.between(vm.inStateSince(), now);
            return c.destroyAfterS() > 0 && archived.toSeconds() >= c.destroyAfterS()
                    ? Optional.of(new Due(Action.DESTROY, null, "archived for " + archived.toMinutes() + " min"))
                    : Optional.empty();
        }
        IdleTimes times = idle.get(vm.offering());
        // a VM whose combination was never asked for since this policy came (swapped in, restarted) counts from when
        // it was last used
        Instant last = times == null || times.last() == null ? vm.lastActivity() : times.last();
        Duration since = Duration.between(last, now);
        if (since.isNegative()) {
            return Optional.empty(); // within the busy minute
        }
        Windows w = windows(times == null ? new IdleTimes(c.range()) : times);
        Duration lead = c.lead();
        ArchiveTier tier = c.tier();
        if (!w.head().isZero() && since.compareTo(w.head().minus(lead)) < 0) {
            return Optional.of(new Due(Action.ARCHIVE, tier, "next request expected in " + w.head().toMinutes()
                    + " min at the earliest (" + w.why() + "): out of memory until then"));
        }
        if (since.compareTo(w.tail()) >= 0) {
            return Optional.of(new Due(Action.ARCHIVE, tier, "idle " + since.toMinutes() + " min, past the "
                    + (w.pattern() ? "window's end " : "fixed keep-alive ") + w.tail().toMinutes() + " min ("
                    + w.why() + ")"));
        }
        return Optional.empty();
    }

    @Override
    public List<KeepAliveOutlook> outlook(Instant now) {
        Duration lead = settings.inForce().lead();
        List<KeepAliveOutlook> all = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Instant last = times.last();
            if (last == null) {
                return;
            }
            Windows w = windows(times);
            Instant until = last.plus(w.tail());
            Instant from = w.head().isZero() ? last : last.plus(w.head().minus(lead));
            String reading = w.pattern()
                    ? "a pattern (" + w.why() + "): in memory " + (w.head().isZero() ? "from the request"
                    : "from " + w.head().toMinutes() + " min") + " to " + w.tail().toMinutes() + " min after it"
                    : "no pattern (" + w.why() + "): in memory " + w.tail().toMinutes() + " min after each request";
            boolean over = !now.isBefore(until);
            all.add(new KeepAliveOutlook(offering, last, times.inBounds() + times.outOfBounds(),
                    over ? null : from.isBefore(last) ? last : from, over ? null : until, reading));
        });
        return all;
    }

    @Override
    public List<Offering> prewarm(Instant now) {
        Duration lead = settings.inForce().lead();
        List<Offering> due = new ArrayList<>();
        idle.forEach((offering, times) -> {
            Windows w = windows(times);
            Instant last = times.last();
            if (w.head().isZero() || last == null) {
                return;
            }
            Duration since = Duration.between(last, now);
            if (since.compareTo(w.head().minus(lead)) >= 0 && since.compareTo(w.tail()) < 0) {
                due.add(offering);
            }
        });
        return due;
    }
}
