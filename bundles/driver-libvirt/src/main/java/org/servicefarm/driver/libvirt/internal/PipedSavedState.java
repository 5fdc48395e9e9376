package org.servicefarm.driver.libvirt.internal;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * A saved state handed to libvirt through a named pipe (FIFO), written as libvirt reads it: a compressed or delta
 * tier is expanded straight into the restore, with no raw copy written to disk first, and the expansion runs while
 * QEMU loads the state. libvirt 9.0's QEMU driver cannot read zstd, but it reads a save image front to back (its
 * header and domain XML, then QEMU's stream through the file descriptor it opened, handed to QEMU as it is) and never
 * seeks in it, so a FIFO serves as the file.
 * <p>
 * One thread writes: it opens the FIFO (which waits until libvirt opens it for reading), then copies the source into
 * it. If libvirt never opens it (the restore failed before), {@link #close(boolean)} opens the FIFO for reading
 * without waiting and closes it again, which lets the writer's open return and its next write fail, so the thread
 * ends; after a restore that succeeded, whatever QEMU left unread is read and dropped, so the writer never waits on a
 * full pipe nobody reads.
 */
final class PipedSavedState implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PipedSavedState.class);
    /** Linux's open(2) flags. */
    private static final int O_RDONLY = 0;
    private static final int O_NONBLOCK = 04000;
    private static final int EAGAIN = 11;
    private static final long STOP_WAIT_MS = TimeUnit.SECONDS.toMillis(30);
    private static final int BUFFER = 1 << 20;

    /** Writes a saved state, expanded, into {@code out}. */
    @FunctionalInterface
    interface Source {
        void writeTo(OutputStream out) throws IOException;
    }

    /** The few calls of the C library Java has no API for. */
    private interface LibC extends Library {
        int mkfifo(String path, int mode) throws LastErrorException;

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int read(int fd, byte[] buffer, long count) throws LastErrorException;
    }

    private static volatile LibC libc;

    private final Path fifo;
    private final Thread writer;
    private volatile Throwable failure;
    private volatile boolean written;
    private volatile boolean opened;

    private PipedSavedState(Path fifo, Source source, String name) {
        this.fifo = fifo;
        this.writer = new Thread(() -> write(source), name);
        this.writer.setDaemon(true);
    }

    /**
     * Makes a FIFO at {@code fifo} (replacing whatever is there) and starts writing {@code source} into it.
     *
     * @throws IOException when no FIFO can be made there (the caller expands into a file instead)
     */
    static PipedSavedState start(Path fifo, Source source, String name) throws IOException {
        Files.deleteIfExists(fifo);
        try {
            libc().mkfifo(fifo.toString(), 0600);
        } catch (LastErrorException | UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IOException("cannot make a named pipe " + fifo + ": " + e.getMessage(), e);
        }
        PipedSavedState piped = new PipedSavedState(fifo, source, name);
        piped.writer.start();
        return piped;
    }

    /** What libvirt is to read. */
    Path path() {
        return fifo;
    }

    /** Why writing failed, {@code null} while it has not failed; meaningful once {@link #close(boolean)} returned. */
    Throwable failure() {
        return failure;
    }

    /** Whether a reader opened the pipe (before {@link #close(boolean)} did to release the writer). */
    boolean opened() {
        return opened;
    }

    /** Whether the whole saved state went into the pipe; meaningful once {@link #close(boolean)} returned. */
    boolean written() {
        return written;
    }

    private void write(Source source) {
        try (OutputStream pipe = new FileOutputStream(fifo.toFile());
             OutputStream out = new BufferedOutputStream(pipe, BUFFER)) {
            opened = true;
            source.writeTo(out);
            out.flush();
            written = true;
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
        }
    }

    /**
     * Ends the writer and removes the FIFO.
     *
     * @param restored whether libvirt's restore succeeded: then the writer is let finish, else it is stopped
     */
    void close(boolean restored) {
        try {
            if (writer.isAlive()) {
                release(restored);
                writer.join(STOP_WAIT_MS);
                if (writer.isAlive()) {
                    LOG.warn("the writer of {} did not stop within {} ms", fifo, STOP_WAIT_MS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                Files.deleteIfExists(fifo);
            } catch (IOException e) {
                LOG.warn("cannot delete the named pipe {}: {}", fifo, e.toString());
            }
        }
    }

    /** Stops the writer: a restore that never got to read. */
    @Override
    public void close() {
        close(false);
    }

    /**
     * Opens the FIFO for reading without waiting, so that a writer waiting in open(2) goes on, then either closes it
     * at once (the writer's next write fails) or, with {@code drain}, reads and drops what comes; again until the
     * writer is done (it may not have reached its open yet).
     */
    private void release(boolean drain) throws InterruptedException {
        LibC c;
        try {
            c = libc();
        } catch (UnsatisfiedLinkError e) {
            return;
        }
        byte[] dropped = new byte[1 << 16];
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_WAIT_MS);
        while (writer.isAlive() && System.nanoTime() < until) {
            int fd;
            try {
                fd = c.open(fifo.toString(), O_RDONLY | O_NONBLOCK);
            } catch (LastErrorException e) {
                LOG.debug("cannot open {} to release its writer: {}", fifo, e.toString());
                return;
            }
            try {
                while (drain && writer.isAlive() && System.nanoTime() < until) {
                    try {
                        if (c.read(fd, dropped, dropped.length) <= 0) {
                            break; // no writer has it open (yet, or any more)
                        }
                    } catch (LastErrorException e) {
                        if (e.getErrorCode() != EAGAIN) {
                            break;
                        }
                        writer.join(1);
                    }
                }
            } finally {
                try {
                    c.close(fd);
                } catch (LastErrorException e) {
                    LOG.debug("closing {} failed: {}", fifo, e.toString());
                }
            }
            writer.join(5);
        }
    }

    private static LibC libc() {
        LibC c = libc;
        if (c == null) {
            c = Native.load("c", LibC.class);
            libc = c;
        }
        return c;
    }
}
