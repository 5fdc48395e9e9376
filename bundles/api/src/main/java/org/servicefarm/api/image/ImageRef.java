package org.servicefarm.api.image;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.Offering;

/**
 * An image a VM can be made from.
 *
 * @param id        content-derived id: equal compositions have equal ids
 * @param offering  the combination it provides
 * @param kind      how it was obtained
 * @param layers    the components it is composed of, base first
 * @param artifacts driver-level files by role (e.g. {@code kernel}, {@code initrd}, {@code disk}); empty
 *                  for images that exist only as a composition (the libvirt test driver needs no bits)
 * @param sizeBytes bytes it takes in the image store
 * @param reason    why this image is a composition only and cannot boot a real guest (e.g. "no operating
 *                  system component 'windows-2022'"), or {@code null} when it carries bootable artifacts.
 *                  A driver that needs bits can refuse a composition-only image at once with this reason.
 */
public record ImageRef(String id, Offering offering, Kind kind, List<CatalogComponent> layers,
                       Map<String, String> artifacts, long sizeBytes, String reason) {

    public enum Kind {
        /** Composed from components for this request. */
        BUILT,
        /** Composed ahead of demand. */
        PREBUILT,
        /** A booted VM's saved state: new VMs restore it instead of booting. */
        CHECKPOINT
    }

    public ImageRef {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        layers = List.copyOf(layers);
        artifacts = artifacts == null ? Map.of() : Map.copyOf(artifacts);
    }

    /** An image without a reason: real when it has artifacts (the form of API 1.0). */
    public ImageRef(String id, Offering offering, Kind kind, List<CatalogComponent> layers,
                    Map<String, String> artifacts, long sizeBytes) {
        this(id, offering, kind, layers, artifacts, sizeBytes, null);
    }

    /** True when the image is a composition only (no artifacts): enough for the libvirt test driver, not for QEMU. */
    public boolean compositionOnly() {
        return artifacts.isEmpty();
    }
}
