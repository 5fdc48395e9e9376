package org.servicefarm.keepalive.histogram.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Action;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Due;

/** The hybrid histogram policy on hand-made idle-time sequences. */
class HistogramKeepAliveTest {

    private static final Instant T0 = Instant.parse("2026-01-05T00:00:00Z");
    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");

    private final HistogramKeepAlive policy = new HistogramKeepAlive();

    HistogramKeepAliveTest() {
        configure(Map.of());
    }

    private void configure(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(overrides);
        policy.configure(Converters.standardConverter().convert(config).to(HistogramKeepAlive.Config.class), null);
    }

    private static Instant minute(double m) {
        return T0.plus(Duration.ofMillis((long) (m * 60_000)));
    }

    private void requests(double... minutes) {
        for (double m : minutes) {
            policy.requested(WIKI, minute(m));
        }
    }

    private static VmRecord vm(VmState state, Instant since) {
        return new VmRecord("sf-1", "alpha", "img", WIKI, Map.of(), state, new Capacity(1, 256, 1), T0, T0, 1, "",
                null, since);
    }

    private Optional<Due> activeAt(double m) {
        return policy.due(vm(VmState.ACTIVE, T0), minute(m), 0);
    }

    @Test
    void theOutlookSaysWhenACombinationIsNextWantedInMemoryAndWhy() {
        requests(0);
        KeepAliveOutlook first = policy.outlook(minute(1)).get(0);
        assertEquals(WIKI, first.offering());
        assertEquals(0, first.idleTimes());
        assertEquals(minute(0), first.warmFrom(), "no pattern yet: from the request");
        assertEquals(minute(240), first.warmUntil(), "the range's fallback keep-alive");
        assertEquals("no pattern (too few idle times): in memory 240 min after each request", first.reading());

        requests(30, 60, 90, 120, 150);
        KeepAliveOutlook timer = policy.outlook(minute(155)).get(0);
        assertEquals(minute(150), timer.lastRequest());
        assertEquals(5, timer.idleTimes());
        assertEquals(minute(150 + 27 - 0.5), timer.warmFrom(), "the head less the pre-warm lead");
        assertEquals(minute(150).plus(Duration.ofMillis((long) (31 * 60_000 * 1.1))), timer.warmUntil());
        assertTrue(timer.reading().startsWith("a pattern (CV ") && timer.reading().endsWith(
                "in memory from 27 min to 34 min after it"), timer.reading());

        KeepAliveOutlook past = policy.outlook(minute(150 + 35)).get(0);
        assertNull(past.warmFrom(), "the window is over: nothing until the next request");
        assertNull(past.warmUntil());
    }

    @Test
    void aShorterRangeCountsLongerIdleTimesOutOfBoundsAndLearnsAgainWhenChanged() {
        requests(0, 90, 180, 270); // three idle times of 90 min: a pattern over 4 hours
        assertTrue(windows().pattern(), windows().why());
        assertEquals(Duration.ofMinutes(81), windows().head());

        configure(Map.of("range.minutes", 60, "fallback.keepAlive.s", 3600L));
        assertEquals(null, policy.idleTimes(WIKI), "bins over another range: learnt again");
        requests(300, 390, 480, 570);
        HistogramKeepAlive.Windows w = windows();
        assertTrue(w.why().startsWith("idle times mostly past 60 min: next forecast in 90 min"), w.why());
        assertEquals(Duration.ofMillis((long) (90 * 60_000 * 0.85)), w.head(), "the forecast less 15%");
        assertThrows(IllegalArgumentException.class, () -> configure(Map.of("range.minutes", 0)));
    }

    @Test
    void aPeriodicCombinationLeavesMemoryAfterEachRequestAndIsPreWarmedBeforeTheNext() {
        requests(0, 30, 60, 90, 120, 150); // five idle times of 30 min: bin 30
        HistogramKeepAlive.Windows w = windows();
        assertTrue(w.pattern(), w.why());
        assertEquals(Duration.ofMinutes(27), w.head(), "bin 30's lower edge less 10%");
        assertEquals(Duration.ofMillis((long) (31 * 60_000 * 1.1)), w.tail(), "bin 30's upper edge plus 10%");

        Due after = activeAt(151).orElseThrow();
        assertEquals(Action.ARCHIVE, after.action(), "out of memory until the pre-warming window");
        assertEquals(ArchiveTier.SAVED, after.tier());
        assertEquals(List.of(), policy.prewarm(minute(175)));
        assertEquals(List.of(WIKI), policy.prewarm(minute(176.6)), "30 s before 150 + 27 min");
        assertEquals(Optional.empty(), activeAt(178), "inside the window it stays");
        assertEquals(List.of(WIKI), policy.prewarm(minute(184)));
        assertEquals(Action.ARCHIVE, activeAt(150 + 34.2).orElseThrow().action(), "past the tail");
        assertEquals(List.of(), policy.prewarm(minute(185)));
    }

    @Test
    void withoutAnIdleTimeTheFixedKeepAliveOfTheHistogramsRangeApplies() {
        requests(0); // no idle time yet: the bins' counts are all zero, not a pattern
        HistogramKeepAlive.Windows w = windows();
        assertTrue(!w.pattern(), w.why());
        assertEquals(Optional.empty(), activeAt(239.9), "the paper's fallback: the range, 4 hours");
        assertEquals(Action.ARCHIVE, activeAt(240).orElseThrow().action());
        assertEquals(List.of(), policy.prewarm(minute(5)));
    }

    @Test
    void oneIdleTimeIsAlreadyAPattern() {
        requests(0, 30); // one idle time in bin 30 of 240: the bins' CV is about 15
        HistogramKeepAlive.Windows w = windows();
        assertTrue(w.pattern(), w.why());
        assertEquals(Duration.ofMinutes(27), w.head());
        assertEquals(Action.ARCHIVE, activeAt(31).orElseThrow().action(), "out of memory until minute 57");
        assertEquals(List.of(WIKI), policy.prewarm(minute(56.6)));
    }

    @Test
    void aMinimumOfIdleTimesCanBeAsked() {
        configure(Map.of("samples.min", 3, "fallback.keepAlive.s", 600L));
        requests(0, 3); // one idle time: too few
        assertEquals("too few idle times", windows().why());
        assertEquals(Optional.empty(), activeAt(12.9));
        assertEquals(Action.ARCHIVE, activeAt(13).orElseThrow().action(), "10 min after the last request");
        assertEquals(List.of(), policy.prewarm(minute(5)));
    }

    @Test
    void anEvenSpreadIsNotAPattern() {
        double t = 0;
        requests(t);
        for (int i = 0; i < 200; i++) {
            t += i % 200 + 0.5; // idle times in 200 different bins: CV about 0.45
            requests(t);
        }
        HistogramKeepAlive.Windows w = windows();
        assertTrue(!w.pattern() && w.why().startsWith("CV"), w.why());
        assertEquals(Duration.ofHours(4), w.tail());
    }

    @Test
    void idleTimesMostlyPastFourHoursAreForecastByTheirMean() {
        requests(0, 300, 600, 900); // three idle times of 5 h, all past the range: the next one forecast at 300 min
        HistogramKeepAlive.Windows w = windows();
        assertTrue(w.why().startsWith("idle times mostly past 240 min"), w.why());
        assertEquals(Duration.ofMinutes(255), w.head(), "15% before the forecast");
        assertEquals(Duration.ofMinutes(345), w.tail(), "15% after it");
        assertEquals(Action.ARCHIVE, activeAt(901).orElseThrow().action(), "out of memory until minute 1155");
        assertEquals(List.of(), policy.prewarm(minute(1154)));
        assertEquals(List.of(WIKI), policy.prewarm(minute(1154.6)), "30 s before 900 + 255 min");
        assertEquals(Optional.empty(), activeAt(1200));
        assertEquals(Action.ARCHIVE, activeAt(1245).orElseThrow().action(), "past 900 + 345 min");
    }

    @Test
    void theForecastIsTheMeanOfAllIdleTimesInAndPastTheRange() {
        requests(0, 300, 301); // 300 min (past the range) and 1 min: half past it, not more: the histogram decides
        assertTrue(windows().why().startsWith("CV"), windows().why());
        requests(600); // 299 min, past the range too: two of three; the mean of 300, 1 and 299 is 200 min
        assertEquals(Duration.ofMinutes(170), windows().head());
        assertEquals(Duration.ofMinutes(230), windows().tail());
    }

    @Test
    void withAHeadOfZeroAVmStaysFromTheRequestToTheTail() {
        // idle times of 0-1 min and 20 min: the 5th percentile is bin 0
        requests(0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6, 3.8, 23.8);
        HistogramKeepAlive.Windows w = windows();
        assertEquals(Duration.ZERO, w.head());
        assertEquals(Optional.empty(), activeAt(24), "no pre-warming window: it stays");
        assertEquals(Action.ARCHIVE, activeAt(23.8 + 23.2).orElseThrow().action(), "bin 20's upper edge + 10%");
        assertEquals(List.of(), policy.prewarm(minute(30)));
    }

    @Test
    void perMinuteABusyMinuteLeavesNoIdleTimeAndTheWindowsCountFromItsEnd() {
        configure(Map.of("idleTimes.perMinute", true));
        // busy minutes 0, 30 and 60: idle 29 min twice (from 1 to 30, from 31 to 60); per request the 0.4 min
        // between the first three would put the head in bin 0, and the VM would stay from each request to the tail
        requests(0.1, 0.5, 0.9, 30.2, 30.7, 60.4);
        assertEquals(2, policy.idleTimes(WIKI).inBounds());
        assertEquals(2, policy.idleTimes(WIKI).counts()[29]);
        HistogramKeepAlive.Windows w = windows();
        assertEquals(Duration.ofMillis((long) (29 * 60_000 * 0.9)), w.head(), "bin 29's lower edge less 10%");
        assertEquals(Duration.ofMinutes(33), w.tail(), "bin 29's upper edge plus 10%");

        assertEquals(Optional.empty(), activeAt(60.9), "within the busy minute it stays");
        assertEquals(Action.ARCHIVE, activeAt(61.1).orElseThrow().action(), "out of memory until 61 + 26.1 min");
        assertEquals(List.of(), policy.prewarm(minute(86.5)));
        assertEquals(List.of(WIKI), policy.prewarm(minute(86.7)), "30 s before 61 + 26.1 min");
        assertEquals(Optional.empty(), activeAt(93.9));
        assertEquals(Action.ARCHIVE, activeAt(94).orElseThrow().action(), "past 61 + 33 min");

        configure(Map.of());
        assertNull(policy.idleTimes(WIKI), "idle times counted otherwise: learnt again");
    }

    @Test
    void archivedVmsAreDestroyedAfterTheirTime() {
        configure(Map.of("destroy.after.s", 3600L));
        assertEquals(Optional.empty(), policy.due(vm(VmState.ARCHIVED, T0), minute(59), 0));
        assertEquals(Action.DESTROY, policy.due(vm(VmState.ARCHIVED, T0), minute(60), 0).orElseThrow().action());
    }

    private HistogramKeepAlive.Windows windows() {
        return policy.windows(policy.idleTimes(WIKI));
    }
}
