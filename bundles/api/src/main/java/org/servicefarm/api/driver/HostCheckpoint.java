package org.servicefarm.api.driver;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A checkpoint one host holds ({@link HostConnection#checkpoint}): a guest booted from an image until its services
 * answered, then saved. New VMs of that image restore it instead of booting, on that host only: the saved state is
 * tied to the host's hypervisor (its version, machine type and CPU model), so it is never copied elsewhere.
 *
 * @param id        the host's name for it (letters, digits and '-')
 * @param host      the farm host that made it and can restore it
 * @param imageId   the image it was booted from; a change of any component gives the image, and so the
 *                  checkpoint, another id
 * @param manifest  the file that describes it, on the host (for a host on the appliance's machine, readable here)
 * @param sha256    the SHA-256 of that file: 64 lowercase hexadecimal digits
 * @param sizeBytes what it takes on the host
 * @param createdAt when it was made
 * @param detail    the hypervisor's words for it (e.g. "QEMU 7.2.22, pc-i440fx-7.2, booted to answer in 7.9 s")
 */
public record HostCheckpoint(String id, String host, String imageId, Path manifest, String sha256, long sizeBytes,
                             Instant createdAt, String detail) {

    private static final Pattern ID = Pattern.compile("[a-z][a-z0-9-]{0,47}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public HostCheckpoint {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(imageId, "imageId");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(createdAt, "createdAt");
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("a checkpoint id is 1-48 lower-case letters, digits or '-'");
        }
        if (sha256 == null || !SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("a checkpoint's sha256 must be 64 lowercase hexadecimal digits");
        }
        detail = detail == null ? "" : detail;
    }
}
