package org.servicefarm.web.internal;

import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One dashboard client's stream of the feed's events: they go out one at a time, the next when the last was written.
 * Two reasons: a client that goes away leaves nothing queued in CXF's sink, whose close logs a WARN for every event
 * still queued (one per closed browser tab under load: 4 of 10 disconnects of {@code curl /events} while 8 clients
 * asked); and a client that reads slower than the farm changes is cut off once {@link #BACKLOG} events wait for it
 * (its EventSource connects again and gets a fresh snapshot), rather than a queue growing without bound.
 *
 * @param <M> the message written (an {@code OutboundSseEvent}; strings in tests)
 */
final class EventStream<M> implements FarmFeed.Subscriber {

    static final int BACKLOG = 1000;

    private final BiFunction<String, String, M> message;
    private final Function<M, CompletionStage<?>> write;
    private final Runnable close;
    private final boolean following;
    private final Queue<M> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger backlog = new AtomicInteger();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Without following, the stream ends when the snapshot is written. */
    private volatile boolean endWhenWritten;

    /**
     * @param message   makes the message of an event and its JSON
     * @param write     writes a message, done when it is written (failed when the client is gone)
     * @param close     closes the client's stream
     * @param following whether deltas follow the snapshot
     */
    EventStream(BiFunction<String, String, M> message, Function<M, CompletionStage<?>> write, Runnable close,
                boolean following) {
        this.message = message;
        this.write = write;
        this.close = close;
        this.following = following;
    }

    @Override
    public boolean send(String event, String json) {
        if (closed.get()) {
            return false;
        }
        if (backlog.incrementAndGet() > BACKLOG) {
            close();
            return false;
        }
        if (!following) {
            endWhenWritten = true; // the snapshot is the only event
        }
        waiting.add(message.apply(event, json));
        writeNext();
        return following && !closed.get();
    }

    /** Writes what waits, one message at a time; a write done at once is followed in this loop, not by recursion. */
    private void writeNext() {
        while (!closed.get() && writing.compareAndSet(false, true)) {
            M next = waiting.poll();
            if (next == null) {
                writing.set(false);
                if (endWhenWritten) {
                    close();
                    return;
                }
                if (waiting.isEmpty()) {
                    return; // else one came between the poll and the flag: take it
                }
                continue;
            }
            backlog.decrementAndGet();
            CompletableFuture<?> written;
            try {
                written = write.apply(next).toCompletableFuture();
            } catch (RuntimeException e) {
                written = CompletableFuture.failedFuture(e); // a sink already closed may throw rather than fail
            }
            if (written.isDone() && !written.isCompletedExceptionally()) {
                writing.set(false);
                continue;
            }
            written.whenComplete((done, failure) -> {
                writing.set(false);
                if (failure != null) {
                    close();
                } else {
                    writeNext();
                }
            });
            return;
        }
    }

    boolean closed() {
        return closed.get();
    }

    private void close() {
        if (closed.compareAndSet(false, true)) {
            waiting.clear();
            close.run();
        }
    }
}
