package org.servicefarm.api;

import java.util.Objects;

/**
 * Where an ARCHIVED VM's saved state is: its tier and what it takes on disk.
 *
 * @param tier     the tier it is kept in
 * @param bytes    what the archive takes on its host's disk
 * @param rawBytes the size of the hypervisor's saved state it stands for (equal to {@code bytes} in tier SAVED)
 */
public record Archive(ArchiveTier tier, long bytes, long rawBytes) {
    public Archive {
        Objects.requireNonNull(tier, "tier");
    }
}
