package org.servicefarm.api.image;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

import org.servicefarm.api.Offering;

/**
 * An image as the image store holds it: being built, ready, or failed, with its progress and use.
 *
 * @param id         the image's id
 * @param offering   the combination it provides, or {@code null} for an image found on disk that does not say
 * @param kind       how it was obtained
 * @param state      where its build is
 * @param progress   how far its build has come (complete once READY)
 * @param sizeBytes  bytes it takes in the image store (files it shares with the component repository by hard
 *                   link cost nothing); while BUILDING, what it is expected to take
 * @param components the repository components it is composed of, by id, in layer order (empty for a
 *                   composition-only image)
 * @param createdAt  when its build started, or when it was found on disk
 * @param lastUsedAt when a VM was last made from it, or {@code null} if never
 * @param uses       how many VMs were made from it
 * @param inUse      how many live VMs run from it now (such images are never evicted)
 * @param detail     why the build failed, or why a READY image is a composition only; else {@code null}
 * @param image      the image itself once READY, else {@code null}
 */
public record ImageStatus(String id, Offering offering, ImageRef.Kind kind, State state, Progress progress,
                          long sizeBytes, List<String> components, Instant createdAt, Instant lastUsedAt, long uses,
                          int inUse, String detail, ImageRef image) {

    public enum State {
        /** Its build is under way. */
        BUILDING,
        /** It can be used. */
        READY,
        /** Its build failed; {@link ImageStatus#detail()} says why. The next request for it builds it again. */
        FAILED
    }

    /**
     * How far a build has come: step {@code step} of {@code steps} ({@code doing} names it), and bytes
     * written or checked of those the image needs.
     */
    public record Progress(int step, int steps, String doing, long bytesDone, long bytesTotal) {

        public Progress {
            Objects.requireNonNull(doing, "doing");
        }

        /** The progress of a finished build. */
        public static Progress done(long bytes) {
            return new Progress(1, 1, "done", bytes, bytes);
        }

        /** The share done, from 0 to 1: by bytes when there are any, else by steps. */
        public double fraction() {
            if (bytesTotal > 0) {
                return Math.min(1.0, (double) bytesDone / bytesTotal);
            }
            return steps == 0 ? 1.0 : Math.min(1.0, (double) step / steps);
        }
    }

    public ImageStatus {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(createdAt, "createdAt");
        components = components == null ? List.of() : List.copyOf(components);
    }

    /** The status of an image that is ready, as a store that does not track builds or use reports it. */
    public static ImageStatus ready(ImageRef image, Instant now) {
        return new ImageStatus(image.id(), image.offering(), image.kind(), State.READY, Progress.done(image.sizeBytes()),
                image.sizeBytes(), List.of(), now, null, 0, 0, image.reason(), image);
    }
}
