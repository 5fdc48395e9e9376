package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static java.util.stream.Collectors.toSet;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

/**
 * The replay of {@code keepalive-fixed} at 10 minutes and of {@code keepalive-histogram} against the two policies
 * worked out in closed form, written here from the paper's text alone (Shahrad et al. 2020, 4.2) and sharing no code
 * with the bundles: one-minute bins over four hours, the 5th and 99th percentiles widened by 10%, a coefficient of
 * variation of at least 2, the range as the keep-alive while not representative, the mean forecast with a 15% margin
 * when most idle times are past the range; instant loads and windows kept to the millisecond. On a generated trace
 * of every kind, each combination's resident time and cold starts must agree; the closed form carries the policies
 * out as the lifecycle does (a sweep every 15 s, a pre-warm 30 s early, creations and restores that later requests
 * join), so what is checked is that the replay's service manager, lifecycle and policy bundles do what the paper's
 * arithmetic says, no more and no less.
 */
class PublishedPoliciesTest {

    private static final Path ETC = Path.of("..", "..", "etc");
    private static final long MINUTE = 60_000;
    private static final int RANGE_BINS = 240;
    private static final long SWEEP = 15_000;
    private static final long LEAD = 30_000;

    private static Trace trace;

    @BeforeAll
    static void generate(@TempDir Path dir) throws Exception {
        System.setProperty("servicefarm.etc", ETC.toString());
        GenerateTrace.main(new String[] {"--out", dir.toString(), "--seed", "11", "--combinations", "40",
                "--requests", "30000", "--hours", "12"});
        trace = Trace.farm(dir.resolve("trace.csv"), dir.resolve("trace.json"));
    }

    /** Resident ms and cold starts of one combination. */
    record Figures(double residentMs, long coldStarts) {
    }

    /**
     * The windows in force after a request, from the idle times known then: kept from {@code pre} to {@code end}, in
     * ms after the request, or after the VM's last use (when it answered it) for the fixed timers.
     */
    record Window(double pre, double end, boolean fromLastUse) {
        Window(double pre, double end) {
            this(pre, end, false);
        }
    }

    interface ClosedForm {
        Window after(List<Long> idleTimesSoFar);
    }

    /** Asleep at the first sweep 10 minutes after a request, out of memory at the next. */
    static final ClosedForm FIXED_10_MIN = idle -> new Window(0, 10 * MINUTE + SWEEP, true);

    static final ClosedForm PAPER = idle -> {
        if (idle.isEmpty()) {
            return new Window(0, RANGE_BINS * MINUTE);
        }
        int[] bins = new int[RANGE_BINS];
        int past = 0;
        for (long it : idle) {
            if (it / MINUTE < RANGE_BINS) {
                bins[(int) (it / MINUTE)]++;
            } else {
                past++;
            }
        }
        if (past * 2 > idle.size()) {
            double forecast = idle.stream().mapToLong(Long::longValue).average().orElseThrow();
            return new Window(0.85 * forecast, 1.15 * forecast);
        }
        int inRange = idle.size() - past;
        double mean = inRange / (double) RANGE_BINS;
        double squares = 0;
        for (int b : bins) {
            squares += (b - mean) * (b - mean);
        }
        if (Math.sqrt(squares / RANGE_BINS) / mean < 2) {
            return new Window(0, RANGE_BINS * MINUTE);
        }
        int head = -1;
        int tail = -1;
        int seen = 0;
        for (int b = 0; b < RANGE_BINS; b++) {
            seen += bins[b];
            if (head < 0 && seen >= 0.05 * inRange) {
                head = b;
            }
            if (tail < 0 && seen >= 0.99 * inRange) {
                tail = b;
            }
        }
        return new Window(head * MINUTE * 0.9, (tail + 1) * MINUTE * 1.1);
    };

    /**
     * A combination's requests under a closed-form policy, up to {@code end}, carried out as the lifecycle does: at
     * its sweeps (every 15 s), a VM brought back 30 s before its window opens (the histogram policy's lead; none
     * when the window opens sooner), one leaving memory at the first sweep due. A cold request waits for its VM (a
     * creation the first time, a restore from SAVED after), out of memory meanwhile, and the requests that come while
     * it waits join it: cold too.
     */
    static Figures closedForm(List<Long> times, long end, ClosedForm policy) {
        SimulatedHypervisor.Timings timings = SimulatedHypervisor.Timings.MEASURED;
        long restore = timings.restore().toMillis();
        List<Long> idle = new ArrayList<>();
        double resident = 0;
        long cold = 0;
        long readyAt = Long.MIN_VALUE;
        long warmFrom = 0;
        long warmUntil = 0;
        for (int i = 0; i < times.size(); i++) {
            long t = times.get(i);
            if (i == 0 || t < readyAt || t < warmFrom || t >= warmUntil) {
                cold++;
                if (t >= readyAt) {
                    readyAt = t + (i == 0 ? timings.create() : timings.restore()).toMillis();
                }
            }
            if (i > 0) {
                idle.add(t - times.get(i - 1));
            }
            Window w = policy.after(idle);
            long next = i + 1 == times.size() ? end : times.get(i + 1);
            long ready = Math.max(t, readyAt);
            warmUntil = sweep((w.fromLastUse() ? ready : t) + Math.round(w.end()));
            if (w.pre() > LEAD) {
                long back = sweep(t + Math.round(w.pre()) - LEAD);
                warmFrom = back + restore;
                resident += Math.max(0, Math.min(next, sweep(t)) - ready);
                resident += Math.max(0, Math.min(next, warmUntil) - warmFrom);
            } else {
                warmFrom = t;
                resident += Math.max(0, Math.min(next, warmUntil) - ready);
            }
        }
        return new Figures(resident, cold);
    }

    /** The first sweep at or after {@code t}. */
    private static long sweep(long t) {
        return (t + SWEEP - 1) / SWEEP * SWEEP;
    }

    private static Map<String, Figures> closedForm(ClosedForm policy) {
        Map<String, List<Long>> times = new TreeMap<>();
        for (int i = 0; i < trace.size(); i++) {
            times.computeIfAbsent(trace.names.get(trace.combinations[i]), k -> new ArrayList<>()).add(trace.times[i]);
        }
        Map<String, Figures> figures = new TreeMap<>();
        times.forEach((name, list) -> figures.put(name, closedForm(list, trace.end(), policy)));
        return figures;
    }

    private static Map<String, Figures> replayed(String policy) throws Exception {
        ReplayTrace.Choice choice = ReplayTrace.Choice.of(policy);
        String name = choice.name();
        String overrides = choice.overrides();
        KeepAlivePolicy chosen = ReplayTrace.policy(ETC, name, overrides);
        TraceReplay.Result result = TraceReplay.replay(trace, name, overrides, chosen,
                TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg"),
                new TraceReplay.Settings(SimulatedHypervisor.Timings.MEASURED, Duration.ofSeconds(15), Map.of(), 4));
        Map<String, Figures> figures = new TreeMap<>();
        result.combinations().forEach(c -> figures.put(c.name(),
                new Figures(c.residentVmSeconds() * 1000, c.coldStarts())));
        return figures;
    }

    private static void assertAgree(Map<String, Figures> replayed, Map<String, Figures> closed) {
        assertEquals(Set.of("bursty", "periodic", "popular", "rare"),
                closed.keySet().stream().map(name -> name.substring(0, name.indexOf('-'))).collect(toSet()),
                "a trace of every kind");
        assertEquals(closed.keySet(), replayed.keySet());
        closed.forEach((name, expected) -> {
            Figures got = replayed.get(name);
            // to the second: the replay's clock is exact, and a restore at most a fraction of a second off
            assertEquals(expected.residentMs() / 1000, got.residentMs() / 1000, 1 + 0.001 * expected.residentMs() / 1000,
                    name + ": resident seconds");
            assertEquals(expected.coldStarts(), got.coldStarts(), 1, name + ": cold starts");
        });
    }

    @Test
    void theFixedTimersAsWorkedOut() throws Exception {
        assertAgree(replayed(ReplayTrace.FIXED_10_MIN), closedForm(FIXED_10_MIN));
    }

    @Test
    void theHistogramPolicyAsPublished() throws Exception {
        assertAgree(replayed("keepalive-histogram"), closedForm(PAPER));
    }
}
