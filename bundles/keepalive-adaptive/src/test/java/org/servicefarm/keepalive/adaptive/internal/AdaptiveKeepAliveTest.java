package org.servicefarm.keepalive.adaptive.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Action;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Due;
import org.servicefarm.keepalive.adaptive.internal.AdaptiveKeepAlive.Minute;

/** The adaptive policy on hand-made idle-time sequences. */
class AdaptiveKeepAliveTest {

    private static final Instant T0 = Instant.parse("2026-01-05T00:00:00Z");
    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");

    private final AdaptiveKeepAlive policy = new AdaptiveKeepAlive();

    AdaptiveKeepAliveTest() {
        configure(Map.of());
    }

    /** One-minute bins and a 5-minute fallback, so that the hand-made sequences below count in minutes. */
    private static final Map<String, Object> MINUTES = Map.of("hazard.threshold", 0.1, "bin.s", 60, "jitter.s", 60,
            "fallback.keepAlive.s", 300L);

    private void configure(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(MINUTES);
        config.putAll(overrides);
        policy.configure(Converters.standardConverter().convert(config).to(AdaptiveKeepAlive.Config.class), null);
    }

    private static Instant minute(double m) {
        return T0.plus(Duration.ofMillis((long) (m * 60_000)));
    }

    private void requests(double... minutes) {
        for (double m : minutes) {
            policy.requested(WIKI, minute(m));
        }
    }

    private static VmRecord vm(VmState state, ArchiveTier tier) {
        return new VmRecord("sf-1", "alpha", "img", WIKI, Map.of(), state, new Capacity(1, 256, 1), T0, T0, 1, "",
                tier == null ? null : new Archive(tier, 1, 1), T0);
    }

    private Optional<Due> at(VmState state, double m) {
        return policy.due(vm(state, null), minute(m), 0);
    }

    @Test
    void theOutlookSaysWhenACombinationIsNextWantedInMemoryAndWhy() {
        configure(Map.of("hazard.threshold", 1.0 / 90, "bin.s", 15, "jitter.s", 15, "fallback.keepAlive.s", 14_400L));
        requests(0);
        KeepAliveOutlook first = policy.outlook(minute(1)).get(0);
        assertEquals(minute(0), first.warmFrom(), "too few idle times: from the request");
        assertEquals(minute(240), first.warmUntil(), "the fallback keep-alive");
        assertEquals("too few idle times to learn from (0 of 2): in memory 240 min after each request",
                first.reading());

        requests(30, 60, 90); // a timer every 30 min: bin 120 of 15 s, and its neighbours
        KeepAliveOutlook timer = policy.outlook(minute(95)).get(0);
        assertEquals(3, timer.idleTimes());
        assertEquals(minute(90).plusSeconds(119 * 15 - 30), timer.warmFrom(), "bin 119 less the 30-s lead");
        assertEquals(minute(90).plusSeconds(122 * 15), timer.warmUntil(), "to the end of bin 121");
        assertEquals("learned from its idle times: in memory from 29 min 45 s to 30 min 30 s after a request",
                timer.reading());
        KeepAliveOutlook within = policy.outlook(minute(90 + 30)).get(0);
        assertEquals(timer.warmFrom(), within.warmFrom(), "in the warm stretch: the same stretch, begun");
        assertNull(policy.outlook(minute(90 + 31)).get(0).warmFrom(), "past it: nothing until the next request");

        requests(90.5, 95.2, 98.1, 111.7, 112.4, 126.0); // idle times at random
        KeepAliveOutlook random = policy.outlook(minute(127)).get(0);
        // nine idle times of 126 min in all: 14 min on average, warm to 4.6 times that (64.5 min) in 15-s bins
        assertEquals("requests at random, 14 min apart on average: in memory up to 64 min 30 s after a request",
                random.reading());
    }

    @Test
    void minutesAreWarmWhereTheHazardReachesTheThreshold() {
        // 20 idle times: 16 under a minute (bin 0), 4 of an hour (bin 60)
        int[] counts = new int[720];
        counts[0] = 16;
        counts[60] = 4;
        AdaptiveKeepAlive.Plan plan = AdaptiveKeepAlive.plan(counts, 20, settings(Map.of()));
        assertEquals(Minute.WARM, plan.at(0), "16 of 20");
        assertEquals(Minute.WARM, plan.at(1), "bin 0's neighbour (jitter)");
        assertEquals(Minute.COLD, plan.at(2), "nothing ends there");
        assertEquals(Minute.WARM, plan.at(59));
        assertEquals(Minute.WARM, plan.at(60), "4 of the 4 that reach it");
        assertEquals(Minute.WARM, plan.at(61));
        assertEquals(Minute.COLD, plan.at(62));
        assertEquals(59, plan.nextWarm(2));

        // the same with more idle times past the range: bin 60 is 4 of 14, still warm; at 4 of 54 it is not
        assertEquals(Minute.WARM, AdaptiveKeepAlive.plan(counts, 30, settings(Map.of())).at(60));
        assertEquals(Minute.COLD, AdaptiveKeepAlive.plan(counts, 70, settings(Map.of())).at(60));
    }

    @Test
    void aBurstyCombinationIsWarmInsideBurstsAndAroundTheGapBetweenThemButNotFromOneToTheOther() {
        double t = 0;
        requests(t);
        for (int burst = 0; burst < 4; burst++) {
            for (int k = 0; k < 9; k++) {
                requests(t += 0.1);
            }
            requests(t += 60); // the next burst an hour later
        }
        double last = t;
        assertEquals(Optional.empty(), at(VmState.ACTIVE, last + 1.5), "minute 1 is warm (jitter)");
        Due gap = at(VmState.ACTIVE, last + 10).orElseThrow();
        assertEquals(Action.ARCHIVE, gap.action());
        assertEquals(ArchiveTier.SAVED, gap.tier(), "restored before minute 59: " + gap.reason());
        assertEquals(List.of(), policy.prewarm(minute(last + 30)));
        assertEquals(List.of(WIKI), policy.prewarm(minute(last + 58.6)), "30 s before minute 59");
        assertEquals(Optional.empty(), at(VmState.ACTIVE, last + 60));
        Due beyond = at(VmState.ACTIVE, last + 62).orElseThrow();
        assertEquals(ArchiveTier.COMPRESSED, beyond.tier(), "nothing expected any more: " + beyond.reason());
    }

    @Test
    void betweenTwoWarmMinutesCloseTogetherAVmSleeps() {
        configure(Map.of("jitter.s", 0));
        requests(0, 5, 13, 18, 26, 31, 39, 44, 52, 57, 65); // idle times of 5 and 8 minutes, five of each
        assertEquals(new Due(Action.SLEEP, null, "idle 6 min; a request is likely again within 2 min"),
                at(VmState.ACTIVE, 65 + 6.2).orElseThrow(), "minutes 6 and 7 lie between two warm ones");
        assertEquals(Optional.empty(), at(VmState.SLEEPING, 65 + 6.2), "asleep it stays");
        assertEquals(Optional.empty(), at(VmState.SLEEPING, 65 + 7.6), "woken by minute 8");
        assertEquals(ArchiveTier.COMPRESSED, at(VmState.SLEEPING, 65 + 9).orElseThrow().tier());

        int[] counts = new int[720];
        counts[5] = 5;
        counts[9] = 5;
        AdaptiveKeepAlive.Plan apart = AdaptiveKeepAlive.plan(counts, 10, settings(Map.of("jitter.s", 0)));
        assertEquals(Minute.COLD, apart.at(7), "three minutes apart: archived, not asleep");
    }

    @Test
    void withTooFewIdleTimesAShortFixedKeepAliveApplies() {
        requests(0);
        assertEquals(Optional.empty(), at(VmState.ACTIVE, 4.9));
        assertEquals(Action.ARCHIVE, at(VmState.ACTIVE, 5).orElseThrow().action());
        assertEquals(List.of(), policy.prewarm(minute(3)));
    }

    @Test
    void withBinsOfFifteenSecondsATimerEveryThreeMinutesLeavesMemoryForMostOfItsPeriod() {
        policy.configure(Converters.standardConverter().convert(Map.of()).to(AdaptiveKeepAlive.Config.class), null);
        requests(0, 3, 6, 9, 12, 15); // idle times of 180 s: bin 12 of 15 s, warm with its neighbours 11 and 13
        double last = 15;
        Due after = at(VmState.ACTIVE, last + 0.5).orElseThrow();
        assertEquals(ArchiveTier.SAVED, after.tier(), "restored before 165 s of idle time: " + after.reason());
        assertEquals(List.of(), policy.prewarm(minute(last + 2.2)), "132 s + the 30 s lead: bin 10, cold");
        assertEquals(List.of(WIKI), policy.prewarm(minute(last + 2.3)), "138 s + 30 s: bin 11, warm");
        assertEquals(Optional.empty(), at(VmState.ACTIVE, last + 3));
        assertEquals(ArchiveTier.COMPRESSED, at(VmState.ACTIVE, last + 3.5).orElseThrow().tier(), "past bin 13");

        // in one-minute bins the same timer is warm from minute 2 (its bin 3 and the neighbours 2 and 4)
        configure(Map.of());
        requests(18, 21, 24, 27, 30);
        assertEquals(List.of(WIKI), policy.prewarm(minute(30 + 1.6)), "in memory from 90 s instead of 138 s");
    }

    @Test
    void beforeItsSecondIdleTimeACombinationsVmStaysFourHours() {
        policy.configure(Converters.standardConverter().convert(Map.of()).to(AdaptiveKeepAlive.Config.class), null);
        requests(0);
        assertEquals(Optional.empty(), at(VmState.ACTIVE, 239.9), "a timer of up to 4 h finds it for its second request");
        assertEquals(Action.ARCHIVE, at(VmState.ACTIVE, 240).orElseThrow().action());
        requests(180); // one idle time cannot tell a timer from requests at random: still 4 hours
        assertEquals(Optional.empty(), at(VmState.ACTIVE, 181), "one idle time: the fallback still");
        assertEquals(Action.ARCHIVE, at(VmState.ACTIVE, 180 + 240).orElseThrow().action());
        requests(360); // the second: from now on the histogram decides
        assertEquals(Action.ARCHIVE, at(VmState.ACTIVE, 361).orElseThrow().action(), "out until 180 min again");
    }

    /** Idle times (minutes) into 15-s bins over 12 hours. */
    private static int[] bins15(double... minutes) {
        int[] counts = new int[2880];
        for (double m : minutes) {
            if (m * 4 < counts.length) {
                counts[(int) (m * 4)]++;
            }
        }
        return counts;
    }

    /** Twenty idle times at the quantiles of an exponential distribution with a mean of 40 minutes. */
    private static double[] exponential40() {
        double[] minutes = new double[20];
        for (int k = 0; k < 20; k++) {
            minutes[k] = -40 * Math.log(1 - (k + 0.5) / 20);
        }
        return minutes;
    }

    @Test
    void idleTimesAtRandomAreToldFromTimersAndBursts() {
        double[] random = exponential40();
        double mean = java.util.Arrays.stream(random).average().orElseThrow();
        assertTrue(AdaptiveKeepAlive.random(bins15(random), 20, mean * 4), "exponential");
        double[] timer = new double[20];
        java.util.Arrays.fill(timer, 40);
        assertFalse(AdaptiveKeepAlive.random(bins15(timer), 20, 40 * 4), "all at 40 min");
        double[] bursts = new double[20];
        java.util.Arrays.fill(bursts, 0.1);
        bursts[9] = 200;
        bursts[19] = 200;
        assertFalse(AdaptiveKeepAlive.random(bins15(bursts), 20, 20.09 * 4), "18 of 6 s, 2 of 200 min");
    }

    @Test
    void atRandomAVmStaysUntilTheNextRequestIsUnlikelyWhenTheHazardReachesTheThreshold() {
        AdaptiveKeepAlive.Settings defaults = new AdaptiveKeepAlive.Settings(
                Converters.standardConverter().convert(Map.of()).to(AdaptiveKeepAlive.Config.class));
        double[] random = exponential40();
        double mean = java.util.Arrays.stream(random).average().orElseThrow(); // about 39 min: 1/39 >= 1/90
        AdaptiveKeepAlive.Plan plan = AdaptiveKeepAlive.plan(bins15(random), 20, mean, defaults);
        int end = (int) Math.ceil(-Math.log(0.01) * mean * 4); // random.tail 0.01: 4.6 mean idle times
        assertEquals(Minute.WARM, plan.at(0));
        assertEquals(Minute.WARM, plan.at(end - 1), "4.6 mean idle times");
        assertEquals(Minute.COLD, plan.at(end));
        AdaptiveKeepAlive.Plan fivePercent = AdaptiveKeepAlive.plan(bins15(random), 20, mean, settings(Map.of(
                "random.tail", 0.05, "hazard.threshold", 1.0 / 90, "bin.s", 15, "jitter.s", 15)));
        assertEquals(Minute.COLD, fivePercent.at((int) Math.ceil(3 * mean * 4)), "0.05: three mean idle times");

        double[] slower = new double[20]; // the same shape with a mean of about 117 min: 1/117 < 1/90, not worth it
        for (int k = 0; k < 20; k++) {
            slower[k] = 3 * random[k];
        }
        AdaptiveKeepAlive.Plan notWorth = AdaptiveKeepAlive.plan(bins15(slower), 20, 3 * mean, defaults);
        assertEquals(Minute.COLD, notWorth.at(end / 2));
    }

    @Test
    void idleTimesOnceTakenForRandomStayRandomUnlessTheyFailTheTestAtOnePercent() {
        AdaptiveKeepAlive.Settings defaults = new AdaptiveKeepAlive.Settings(
                Converters.standardConverter().convert(Map.of()).to(AdaptiveKeepAlive.Config.class));
        // ten idle times (min): Lilliefors' statistic 1.18, between the 5% bound (1.094) and the 1% one (1.308)
        double[] ten = {1, 1, 1, 1, 15, 20, 25, 30, 35, 40};
        double mean = 16.9;
        AdaptiveKeepAlive.Plan fresh = AdaptiveKeepAlive.plan(bins15(ten), 10, mean, defaults, false);
        assertFalse(fresh.exponential(), "taken for a pattern at 5%");
        assertEquals(Minute.COLD, fresh.at(50 * 4), "no idle time of 50 min seen: cold there");
        AdaptiveKeepAlive.Plan kept = AdaptiveKeepAlive.plan(bins15(ten), 10, mean, defaults, true);
        assertTrue(kept.exponential(), "random when last planned: random unless it fails at 1%");
        assertEquals(Minute.WARM, kept.at(50 * 4), "warm to 4.6 mean idle times (78 min)");

        // through the policy: nine idle times pass at 5% (0.92), the tenth (1 min) would fail there
        configure(Map.of("hazard.threshold", 1.0 / 90, "bin.s", 15, "jitter.s", 15, "fallback.keepAlive.s", 14_400L));
        requests(0, 15, 35, 60, 90, 125, 165, 166, 167, 168);
        assertTrue(policy.outlook(minute(168.5)).get(0).reading().startsWith("requests at random"));
        requests(169);
        assertTrue(policy.outlook(minute(169.5)).get(0).reading().startsWith("requests at random"),
                "still random: one more short idle time is no pattern");
    }

    @Test
    void aCombinationStillLearningIsNotKeptAfterAnIdleTimeLongerThanTheFallback() {
        configure(Map.of("hazard.threshold", 1.0 / 90, "bin.s", 15, "jitter.s", 15, "fallback.keepAlive.s", 14_400L));
        requests(0);
        assertEquals(Optional.empty(), at(VmState.ACTIVE, 239), "no idle time yet: the fallback keeps the VM 4 h");
        requests(300); // an idle time of 5 h: the next is likely as long, not worth 4 h more in memory
        assertEquals(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "too few idle times to learn from, one of them longer "
                + "than the fallback keep-alive: not kept for the next"), at(VmState.ACTIVE, 301).orElseThrow());
        assertNull(policy.outlook(minute(301)).get(0).warmFrom());
    }

    @Test
    void archivesGoToDeltaThenAreDestroyed() {
        configure(Map.of("delta.after.s", 3600L, "destroy.after.s", 7200L));
        assertEquals(Optional.empty(), policy.due(vm(VmState.ARCHIVED, ArchiveTier.SAVED), minute(59), 0));
        assertEquals(new Due(Action.ARCHIVE, ArchiveTier.DELTA, "archived for 1 h"),
                policy.due(vm(VmState.ARCHIVED, ArchiveTier.SAVED), minute(60), 0).orElseThrow());
        assertEquals(Optional.empty(), policy.due(vm(VmState.ARCHIVED, ArchiveTier.DELTA), minute(61), 0));
        assertEquals(Action.DESTROY, policy.due(vm(VmState.ARCHIVED, ArchiveTier.DELTA), minute(120), 0)
                .orElseThrow().action());
    }

    @Test
    void aVmWhoseImageIsCheckpointedRestsAsTheCheckpointInsteadOfAnArchive() {
        KeepAlivePolicy.Context checkpointed = new KeepAlivePolicy.Context(0, true);
        KeepAlivePolicy.Context not = new KeepAlivePolicy.Context(0, false);
        requests(0, 10, 20, 30); // a timer every 10 min: warm in minutes 9-11, archived between
        assertEquals(List.of(WIKI), policy.checkpoint(minute(31)), "brought back before each request: checkpointed");
        Due archived = policy.due(vm(VmState.ACTIVE, null), minute(32), not).orElseThrow();
        assertEquals(ArchiveTier.SAVED, archived.tier());
        Due destroyed = policy.due(vm(VmState.ACTIVE, null), minute(32), checkpointed).orElseThrow();
        assertEquals(Action.DESTROY, destroyed.action());
        assertEquals(archived.reason() + "; rests as its image's checkpoint instead of an archive (a new VM starts "
                + "from it faster than an archive is restored)", destroyed.reason());
        assertEquals(Optional.empty(), policy.due(vm(VmState.ACTIVE, null), minute(39.5), checkpointed),
                "in memory where the plan wants it, checkpoint or not");
        assertEquals(Action.DESTROY, policy.due(vm(VmState.ACTIVE, null), minute(42.5), checkpointed).orElseThrow()
                .action(), "past its warm minutes: nothing expected within the range, not COMPRESSED either");
        assertEquals(Action.DESTROY, policy.due(vm(VmState.ARCHIVED, ArchiveTier.SAVED), minute(33), checkpointed)
                .orElseThrow().action(), "an archive of a checkpointed image goes at once");
        assertEquals(Optional.empty(), policy.due(vm(VmState.ARCHIVED, ArchiveTier.SAVED), minute(33), not));

        configure(Map.of("rest.checkpoint", false));
        requests(0, 10, 20, 30);
        assertEquals(List.of(), policy.checkpoint(minute(31)));
        assertEquals(ArchiveTier.SAVED, policy.due(vm(VmState.ACTIVE, null), minute(32), checkpointed).orElseThrow()
                .tier(), "off: archived as before");
    }

    @Test
    void combinationsKeptInMemoryOrNotExpectedBackAskForNoCheckpoint() {
        requests(0, 1, 2, 3, 4); // a minute apart: never leaves memory
        assertEquals(List.of(), policy.checkpoint(minute(4.5)));
        requests(0); // one request: still learning
        assertEquals(List.of(), policy.checkpoint(minute(1)));
    }

    @Test
    void aThresholdOutsideZeroToOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> configure(Map.of("hazard.threshold", 0.0)));
        assertThrows(IllegalArgumentException.class, () -> configure(Map.of("range.minutes", 0)));
        assertThrows(IllegalArgumentException.class, () -> configure(Map.of("bin.s", 0)));
        assertThrows(IllegalArgumentException.class, () -> configure(Map.of("random.tail", 1.0)));
    }

    private static AdaptiveKeepAlive.Settings settings(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(MINUTES);
        config.putAll(overrides);
        return new AdaptiveKeepAlive.Settings(
                Converters.standardConverter().convert(config).to(AdaptiveKeepAlive.Config.class));
    }
}
