package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The replay's virtual clock and its events: time moves only from one event to the next, so a day of a farm replays
 * in seconds and the same trace gives the same result every time. Work handed to {@link #executor()} runs as an event
 * at the current instant, after the event that handed it in, as a worker thread would run it after the request
 * thread moved on. Used from the replay's one thread.
 */
final class VirtualTime extends Clock {

    private record Event(long at, long sequence, Runnable task) {
    }

    private final PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.at != b.at
            ? Long.compare(a.at, b.at) : Long.compare(a.sequence, b.sequence));
    private long now;
    private long sequence;

    VirtualTime(long startMillis) {
        this.now = startMillis;
    }

    @Override
    public long millis() {
        return now;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(now);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("the replay's clock is UTC");
    }

    /** The virtual time as nanoseconds, for what measures rates (the manager's load meters). */
    long nanos() {
        return now * 1_000_000;
    }

    /** Runs {@code task} at {@code atMillis} (at once, after what is due now, if that has passed). */
    void at(long atMillis, Runnable task) {
        events.add(new Event(Math.max(atMillis, now), sequence++, task));
    }

    void after(Duration delay, Runnable task) {
        at(now + delay.toMillis(), task);
    }

    /** When the next event is due, or {@link Long#MAX_VALUE} without one. */
    long next() {
        Event first = events.peek();
        return first == null ? Long.MAX_VALUE : first.at;
    }

    /** Runs every event due up to {@code untilMillis} in time order (those they add too), then sets the clock there. */
    void runUntil(long untilMillis) {
        while (!events.isEmpty() && events.peek().at <= untilMillis) {
            Event event = events.poll();
            now = Math.max(now, event.at);
            event.task.run();
        }
        now = Math.max(now, untilMillis);
    }

    /** An executor whose tasks are events at the current instant. */
    ExecutorService executor() {
        return new AbstractExecutorService() {
            private volatile boolean shutdown;

            @Override
            public void execute(Runnable command) {
                if (shutdown) {
                    throw new java.util.concurrent.RejectedExecutionException("the replay is over");
                }
                at(now, command);
            }

            @Override
            public void shutdown() {
                shutdown = true;
            }

            @Override
            public List<Runnable> shutdownNow() {
                shutdown = true;
                return List.of();
            }

            @Override
            public boolean isShutdown() {
                return shutdown;
            }

            @Override
            public boolean isTerminated() {
                return shutdown;
            }

            @Override
            public boolean awaitTermination(long timeout, TimeUnit unit) {
                return true;
            }
        };
    }
}
