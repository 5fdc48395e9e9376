package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A saved state written into a named pipe as a reader (libvirt, here the test) reads it, and the writer's end. */
class PipedSavedStateTest {

    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static byte[] bytes(int length) {
        byte[] bytes = new byte[length];
        new Random(7).nextBytes(bytes);
        return bytes;
    }

    @Test
    void aReaderGetsTheWholeStateThroughAFifoAndTheFifoIsGoneAfterwards() throws IOException {
        byte[] state = bytes(5 << 20);
        Path fifo = dir.resolve("vm.save.pipe");
        PipedSavedState piped = PipedSavedState.start(fifo, out -> out.write(state), "test-writer");
        assertFalse(Files.isRegularFile(fifo), "a pipe, not a file");
        byte[] read = assertTimeoutPreemptively(PROMPTLY, () -> {
            try (InputStream in = Files.newInputStream(piped.path())) {
                return in.readAllBytes();
            }
        });
        assertTimeoutPreemptively(PROMPTLY, () -> piped.close(true));
        assertArrayEquals(state, read);
        assertTrue(piped.opened());
        assertTrue(piped.written());
        assertNull(piped.failure());
        assertFalse(Files.exists(fifo), "the pipe is removed");
    }

    @Test
    void aRestoreThatNeverOpensThePipeDoesNotLeaveTheWriterWaiting() throws IOException {
        Path fifo = dir.resolve("never.pipe");
        PipedSavedState piped = PipedSavedState.start(fifo, out -> out.write(bytes(1 << 20)), "test-writer");
        assertTimeoutPreemptively(PROMPTLY, () -> piped.close(false));
        assertFalse(piped.written(), "nobody read it");
        assertNotNull(piped.failure(), "the writer's write into a pipe nobody reads failed, and it ended");
        assertFalse(Files.exists(fifo));
    }

    @Test
    void aReaderThatStopsEarlyAfterSuccessDoesNotLeaveTheWriterWaiting() throws IOException {
        Path fifo = dir.resolve("early.pipe");
        PipedSavedState piped = PipedSavedState.start(fifo, out -> out.write(bytes(8 << 20)), "test-writer");
        // the reader reads a little and keeps the pipe open (as a QEMU done with its stream might): the rest drains
        InputStream reader = assertTimeoutPreemptively(PROMPTLY, () -> {
            InputStream in = Files.newInputStream(piped.path());
            in.readNBytes(4096);
            return in;
        });
        try {
            assertTimeoutPreemptively(PROMPTLY, () -> piped.close(true));
            assertTrue(piped.written(), "what the reader left was read and dropped");
        } finally {
            reader.close();
        }
    }

    @Test
    void aSourceThatFailsEndsTheStreamShortAndSaysWhy() throws IOException {
        Path fifo = dir.resolve("broken.pipe");
        PipedSavedState piped = PipedSavedState.start(fifo, out -> {
            out.write(new byte[1000]);
            throw new IOException("the delta's base is gone");
        }, "test-writer");
        byte[] read = assertTimeoutPreemptively(PROMPTLY, () -> {
            try (InputStream in = Files.newInputStream(piped.path())) {
                return in.readAllBytes();
            }
        });
        piped.close(false);
        assertTrue(read.length <= 1000, "the reader sees the stream end short");
        assertFalse(piped.written());
        assertTrue(piped.failure().getMessage().contains("base is gone"));
    }
}
