package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The replay's virtual clock and its events: time moves only from one event to the next, so a day of a farm replays
 * in seconds and the same trace gives the same result every time. Work handed to {@link #executor()} runs as an event
 * at the current instant, after the event that handed it in, as a worker thread would run it after the request
 * thread moved on; a timer handed to {@link #scheduler()} fires as an event at its virtual instant. Used from the
 * replay's one thread.
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
        return new Scheduler();
    }

    /** A timer on the virtual clock (the manager's deadlines, the checkpoints' worker); cancelled tasks never run. */
    ScheduledExecutorService scheduler() {
        return new Scheduler();
    }

    private final class Scheduler extends AbstractExecutorService implements ScheduledExecutorService {
        private volatile boolean shutdown;

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            if (shutdown) {
                throw new java.util.concurrent.RejectedExecutionException("the replay is over");
            }
            Timer timer = new Timer(now + unit.toMillis(delay));
            at(timer.at, () -> {
                if (!timer.cancelled) {
                    timer.done = true;
                    command.run();
                }
            });
            return timer;
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            throw new UnsupportedOperationException("the replay's timers run tasks, not callables");
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period,
                                                      TimeUnit unit) {
            throw new UnsupportedOperationException("the replay's timers are one-shot");
        }

        /** Runs {@code command} after {@code initialDelay}, then {@code delay} after each run, until shut down. */
        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay,
                                                         TimeUnit unit) {
            Runnable[] repeat = new Runnable[1];
            repeat[0] = () -> {
                if (shutdown) {
                    return; // a run already due when the timer was shut down does not happen
                }
                command.run();
                if (!shutdown) {
                    schedule(repeat[0], delay, unit);
                }
            };
            return schedule(repeat[0], initialDelay, unit);
        }

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
    }

    /** A one-shot timer's handle: cancelling it before its instant keeps its task from running. */
    private final class Timer implements ScheduledFuture<Object> {
        final long at;
        volatile boolean cancelled;
        volatile boolean done;

        Timer(long at) {
            this.at = at;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(at - now, TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(getDelay(TimeUnit.MILLISECONDS), other.getDelay(TimeUnit.MILLISECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done) {
                return false;
            }
            cancelled = true;
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Object get() {
            throw new UnsupportedOperationException("nothing waits in a replay");
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("nothing waits in a replay");
        }
    }
}
