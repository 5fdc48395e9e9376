package org.servicefarm.api.image;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file of an image, as the image store holds it. Drivers stage artifacts onto the host a VM is placed on
 * ({@link org.servicefarm.api.driver.HostConnection#stage}); equal content has an equal {@code sha256}, so a host
 * keeps each artifact once however many images share it.
 *
 * @param kind      what the file is to a guest
 * @param file      the file in the image store, on the appliance's machine
 * @param sha256    its SHA-256, 64 lowercase hexadecimal digits
 * @param sizeBytes its length in bytes
 */
public record Artifact(Kind kind, Path file, String sha256, long sizeBytes) {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** What an artifact is to a guest. */
    public enum Kind {
        /** The kernel a guest boots directly. */
        KERNEL,
        /** The initial RAM disk the kernel unpacks. */
        INITRD,
        /** A disk image the guest mounts. */
        DISK,
        /** A booted guest's saved state, restored instead of booting. */
        CHECKPOINT
    }

    public Artifact {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(file, "file");
        if (sha256 == null || !SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("an artifact's sha256 must be 64 lowercase hexadecimal digits");
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("an artifact's size must not be negative: " + sizeBytes);
        }
    }
}
