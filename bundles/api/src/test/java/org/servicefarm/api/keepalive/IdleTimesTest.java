package org.servicefarm.api.keepalive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

class IdleTimesTest {

    private static final Instant T0 = Instant.parse("2026-01-05T00:00:00Z");

    /** Requests at these minutes from T0. */
    private static IdleTimes at(double... minutes) {
        IdleTimes times = new IdleTimes();
        for (double m : minutes) {
            times.record(T0.plus(Duration.ofMillis((long) (m * 60_000))));
        }
        return times;
    }

    @Test
    void idleTimesFallIntoMinuteBinsAndPastFourHoursOutOfBounds() {
        IdleTimes times = at(0, 0.5, 10.5, 10.9, 300);
        assertEquals(3, times.inBounds(), "30 s, 10 min, 24 s");
        assertEquals(1, times.outOfBounds(), "289 min");
        int[] counts = times.counts();
        assertEquals(2, counts[0]);
        assertEquals(1, counts[10]);
        assertEquals(0.25, times.outOfBoundsFraction(), 1e-9);
        assertEquals(Duration.ofMinutes(75), times.mean(), "(0.5 + 10 + 0.4 + 289.1) / 4 min, past the range included");
        assertEquals(Duration.ZERO, new IdleTimes().mean());
        assertEquals(T0.plus(Duration.ofMinutes(300)), times.last());
    }

    @Test
    void aBusySpellLeavesNoIdleTimeWithinItAndIdleTimesCountFromItsEnd() {
        IdleTimes times = new IdleTimes();
        times.record(T0, T0.plusSeconds(60)); // minute 0 busy
        times.record(T0.plusSeconds(30), T0.plusSeconds(60)); // another request in it
        assertEquals(0, times.inBounds(), "no idle time within the busy minute");
        times.record(T0.plusSeconds(60), T0.plusSeconds(120)); // minute 1: no idle minute between
        times.record(T0.plusSeconds(240), T0.plusSeconds(300)); // minute 4: idle from 2:00 to 4:00
        int[] counts = times.counts();
        assertEquals(1, counts[0]);
        assertEquals(1, counts[2]);
        assertEquals(2, times.inBounds());
        assertEquals(T0.plusSeconds(300), times.last(), "idle times count from the end of the busy minute");
        assertThrows(IllegalArgumentException.class, () -> times.record(T0.plusSeconds(400), T0.plusSeconds(399)));
    }

    @Test
    void binsCanBeNarrowerThanAMinute() {
        IdleTimes times = new IdleTimes(8, Duration.ofSeconds(15)); // two minutes in bins of 15 s
        for (long s : new long[] {0, 14, 44, 60, 240}) {
            times.record(T0.plusSeconds(s));
        }
        int[] counts = times.counts();
        assertEquals(1, counts[0], "14 s");
        assertEquals(1, counts[2], "30 s");
        assertEquals(1, counts[1], "16 s");
        assertEquals(1, times.outOfBounds(), "180 s, past two minutes");
        assertEquals(Duration.ofSeconds(15), times.bin());
        assertEquals(Duration.ofMinutes(1), new IdleTimes().bin());
    }

    @Test
    void percentilesAreTheBinsWhereTheCumulativeShareIsReached() {
        // 19 idle times of 30 min and one of 2 min
        double[] minutes = new double[21];
        minutes[1] = 2;
        for (int i = 2; i < 21; i++) {
            minutes[i] = minutes[i - 1] + 30;
        }
        IdleTimes times = at(minutes);
        assertEquals(2, times.percentileBin(5), "the 5th percentile of 20 is the first idle time");
        assertEquals(30, times.percentileBin(10));
        assertEquals(30, times.percentileBin(99));
        assertEquals(-1, new IdleTimes().percentileBin(50));
    }

    @Test
    void aPatternHasAHighCoefficientOfVariationAndAnEvenSpreadALowOne() {
        double[] periodic = new double[11];
        double[] spread = new double[241];
        for (int i = 1; i < periodic.length; i++) {
            periodic[i] = i * 15;
        }
        for (int i = 1; i < spread.length; i++) {
            spread[i] = spread[i - 1] + (i % 240) + 0.5; // one idle time in each bin
        }
        assertEquals(Math.sqrt(239), at(periodic).binCountVariation(), 1e-9, "all in one bin of 240");
        assertTrue(at(spread).binCountVariation() < 0.1, "one in every bin: " + at(spread).binCountVariation());
        assertEquals(0, new IdleTimes().binCountVariation());
    }

    @Test
    void aRequestOutOfOrderAddsNoIdleTime() {
        IdleTimes times = at(10, 5);
        assertEquals(0, times.inBounds() + times.outOfBounds());
        assertEquals(T0.plus(Duration.ofMinutes(10)), times.last());
        assertNull(new IdleTimes().last());
    }
}
