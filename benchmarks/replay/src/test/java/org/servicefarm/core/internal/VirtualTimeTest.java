package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class VirtualTimeTest {

    @Test
    void eventsRunInTimeOrderThenInTheOrderGivenAndTimeJumpsBetweenThem() {
        VirtualTime time = new VirtualTime(1000);
        List<String> ran = new ArrayList<>();
        time.at(3000, () -> ran.add("c@" + time.millis()));
        time.at(2000, () -> {
            ran.add("a@" + time.millis());
            time.executor().execute(() -> ran.add("worker@" + time.millis())); // after 'b', at the same instant
        });
        time.at(2000, () -> ran.add("b@" + time.millis()));
        time.runUntil(2500);
        assertEquals(List.of("a@2000", "b@2000", "worker@2000"), ran);
        assertEquals(2500, time.millis());
        assertEquals(3000, time.next());
        time.runUntil(5000);
        assertEquals("c@3000", ran.get(3));
    }

    @Test
    void aCancelledTimerDoesNotFireAndAnotherFiresAtItsInstant() {
        VirtualTime time = new VirtualTime(0);
        ScheduledExecutorService timers = time.scheduler();
        List<Long> fired = new ArrayList<>();
        ScheduledFuture<?> kept = timers.schedule(() -> {
            fired.add(time.millis());
        }, 2, TimeUnit.SECONDS);
        ScheduledFuture<?> dropped = timers.schedule(() -> {
            fired.add(-1L);
        }, 1, TimeUnit.SECONDS);
        assertEquals(2000, kept.getDelay(TimeUnit.MILLISECONDS));
        assertTrue(dropped.cancel(false));
        time.runUntil(10_000);
        assertEquals(List.of(2000L), fired);
        assertTrue(kept.isDone());
        assertFalse(kept.cancel(false), "a timer that fired cannot be cancelled");
    }

    @Test
    void aTaskWithAFixedDelayRunsAgainAfterEachRunUntilTheTimerIsShutDown() {
        VirtualTime time = new VirtualTime(0);
        ScheduledExecutorService worker = time.scheduler();
        List<Long> ran = new ArrayList<>();
        worker.scheduleWithFixedDelay(() -> ran.add(time.millis()), 30, 30, TimeUnit.SECONDS);
        time.runUntil(100_000);
        assertEquals(List.of(30_000L, 60_000L, 90_000L), ran);
        worker.shutdownNow();
        time.runUntil(1_000_000);
        assertEquals(3, ran.size(), "not after the shutdown");
    }
}
