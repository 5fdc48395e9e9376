package org.servicefarm.api.store;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.Offering;
import org.servicefarm.api.image.ImageRef;

/**
 * An appliance's image catalog kept in the store: which images its image store held and how each was used (made,
 * last used, how often, what its build cost), which the image eviction policies rank by. The image files are the
 * image store's (on disk, content-addressed) and a checkpoint is its host's; what a restart would otherwise lose is
 * the use, and what an operator could not otherwise see from the database is the catalog. Each appliance has its
 * own rows (its image directory is its own).
 */
@ProviderType
public interface ImageCatalog {

    /** This appliance's images as last written. */
    List<Entry> entries();

    /**
     * Makes this appliance's rows what {@code images} says: new and changed images written, those no longer in it
     * deleted. Called behind the image store's changes (every second or so), never on a request's path.
     */
    void write(Collection<Entry> images);

    /**
     * One image of the catalog.
     *
     * @param id          the image's id
     * @param kind        how it was obtained
     * @param offering    the combination it provides, or {@code null} when not known
     * @param sourceId    for a CHECKPOINT, the image it was booted from; else {@code null}
     * @param host        for a CHECKPOINT, the host that holds it; else {@code null}
     * @param sizeBytes   what it takes in the image store (a checkpoint: on its host)
     * @param createdAt   when it was built, found or recorded
     * @param lastUsedAt  when a VM was last made from it, or {@code null} if never
     * @param uses        how many VMs were made from it
     * @param buildCost   what building it took (what evicting it would cost to undo)
     */
    record Entry(String id, ImageRef.Kind kind, Offering offering, String sourceId, String host, long sizeBytes,
                 Instant createdAt, Instant lastUsedAt, long uses, Duration buildCost) {
        public Entry {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(createdAt, "createdAt");
            buildCost = buildCost == null ? Duration.ZERO : buildCost;
        }
    }
}
