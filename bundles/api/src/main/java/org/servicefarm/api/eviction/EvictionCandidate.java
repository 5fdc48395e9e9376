package org.servicefarm.api.eviction;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Something that may be evicted: a VM (when the VM cap is reached) or an image (when the image
 * store's budget is spent).
 *
 * @param id          the VM or image id
 * @param createdAt   when it came to be
 * @param lastUsedAt  when it was last used
 * @param uses        how often it has been used
 * @param sizeBytes   what it takes (memory for a VM, disk for an image)
 * @param rebuildCost how long it would take to have it again
 */
public record EvictionCandidate(String id, Instant createdAt, Instant lastUsedAt, long uses, long sizeBytes,
                                Duration rebuildCost) {
    public EvictionCandidate {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(createdAt, "createdAt");
        lastUsedAt = lastUsedAt == null ? createdAt : lastUsedAt;
        rebuildCost = rebuildCost == null ? Duration.ZERO : rebuildCost;
    }
}
