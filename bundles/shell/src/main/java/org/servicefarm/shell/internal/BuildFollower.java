package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;

/**
 * Follows a build for farm:build: reads the image's status every {@code poll} and prints a line when its
 * step changes or its bytes pass another tenth, until it is ready or failed, the time is up, or the
 * command is interrupted (Ctrl-C); the build itself goes on in the background either way.
 */
final class BuildFollower {

    enum Result { READY, FAILED, STILL_BUILDING }

    private final ImageService images;
    private final Duration poll;
    private final PrintStream out;

    BuildFollower(ImageService images, Duration poll, PrintStream out) {
        this.images = images;
        this.poll = poll;
        this.out = out;
    }

    Result follow(ImageStatus started, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = null;
        ImageStatus status = started;
        while (true) {
            if (status.state() != ImageStatus.State.BUILDING) {
                out.print(Formats.buildEnded(status));
                return status.state() == ImageStatus.State.READY ? Result.READY : Result.FAILED;
            }
            String line = Formats.progressLine(status.progress());
            if (!line.equals(last)) {
                out.print(line);
                last = line;
            }
            if (System.nanoTime() > deadline || Thread.currentThread().isInterrupted()) {
                out.print(Formats.stillBuilding(status));
                return Result.STILL_BUILDING;
            }
            LockSupport.parkNanos(poll.toNanos());
            Optional<ImageStatus> next = images.image(started.id());
            if (next.isEmpty()) {
                out.print("  image " + started.id() + " is no longer held (evicted)\n");
                return Result.FAILED;
            }
            status = next.get();
        }
    }
}
