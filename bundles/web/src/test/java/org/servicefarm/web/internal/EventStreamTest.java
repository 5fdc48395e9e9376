package org.servicefarm.web.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** A dashboard client's stream: one write in flight, order kept, nothing left queued when the client goes. */
class EventStreamTest {

    private final List<String> written = new ArrayList<>();
    private final List<CompletableFuture<Void>> pending = new ArrayList<>();
    private final AtomicInteger closes = new AtomicInteger();

    /** A stream whose writes finish when the test says ({@link #pending}). */
    private EventStream<String> stream(boolean following) {
        return new EventStream<>((event, json) -> event + ":" + json, message -> {
            written.add(message);
            CompletableFuture<Void> done = new CompletableFuture<>();
            pending.add(done);
            return done;
        }, closes::incrementAndGet, following);
    }

    @Test
    void eventsAreWrittenOneAtATimeInTheirOrder() {
        EventStream<String> stream = stream(true);
        assertTrue(stream.send("snapshot", "{}"));
        assertTrue(stream.send("vm", "1"));
        assertTrue(stream.send("vm", "2"));
        assertEquals(List.of("snapshot:{}"), written, "the next waits until the last is written");

        pending.get(0).complete(null);
        assertEquals(List.of("snapshot:{}", "vm:1"), written);
        pending.get(1).complete(null);
        pending.get(2).complete(null);
        assertEquals(List.of("snapshot:{}", "vm:1", "vm:2"), written);
        assertEquals(0, closes.get());
    }

    @Test
    void writesDoneAtOnceFollowEachOtherWithoutDeepeningTheStack() {
        List<String> all = new ArrayList<>();
        EventStream<String> stream = new EventStream<>((event, json) -> json, message -> {
            all.add(message);
            return CompletableFuture.completedFuture(null);
        }, closes::incrementAndGet, true);
        for (int i = 0; i < 100_000; i++) {
            assertTrue(stream.send("vm", String.valueOf(i)));
        }
        assertEquals(100_000, all.size());
        assertEquals("99999", all.get(99_999));
    }

    @Test
    void aClientGoneClosesTheStreamOnceAndDropsWhatWaitsForIt() {
        EventStream<String> stream = stream(true);
        stream.send("snapshot", "{}");
        stream.send("vm", "1");
        stream.send("vm", "2");

        pending.get(0).completeExceptionally(new IOException("Broken pipe"));
        assertEquals(1, closes.get());
        assertTrue(stream.closed());
        assertFalse(stream.send("vm", "3"), "the feed drops a closed stream");
        assertEquals(List.of("snapshot:{}"), written, "nothing more reaches the sink to be queued there");
        assertEquals(1, closes.get());
    }

    @Test
    void aSinkThatThrowsIsAClientGone() {
        EventStream<String> stream = new EventStream<>((event, json) -> json, message -> {
            throw new IllegalStateException("already closed");
        }, closes::incrementAndGet, true);
        assertFalse(stream.send("snapshot", "{}"));
        assertEquals(1, closes.get());
    }

    @Test
    void aClientThatReadsTooSlowlyIsCutOffAtTheBacklog() {
        EventStream<String> stream = stream(true);
        stream.send("snapshot", "{}"); // written, never done: the client does not read
        for (int i = 0; i < EventStream.BACKLOG; i++) {
            assertTrue(stream.send("vm", String.valueOf(i)));
        }
        assertFalse(stream.send("vm", "one too many"));
        assertEquals(1, closes.get());
        assertTrue(stream.closed());
    }

    @Test
    void withoutFollowingTheSnapshotAloneIsWrittenAndTheStreamEnds() {
        EventStream<String> stream = stream(false);
        assertFalse(stream.send("snapshot", "{}"), "the feed sends it nothing more");
        assertEquals(0, closes.get(), "not before the snapshot is written");
        pending.get(0).complete(null);
        assertEquals(1, closes.get());
        assertEquals(List.of("snapshot:{}"), written);
    }
}
