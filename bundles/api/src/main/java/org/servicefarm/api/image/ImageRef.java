package org.servicefarm.api.image;

import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.Offering;

/**
 * An image a VM can be made from.
 *
 * @param id         content-derived id: equal compositions have equal ids
 * @param offering   the combination it provides
 * @param kind       how it was obtained
 * @param layers     the components it is composed of, base first
 * @param artifacts  its files, at most one of each {@link Artifact.Kind}; empty for images that exist only as a
 *                   composition (the libvirt test driver needs no bits)
 * @param kernelArgs the kernel command line a guest booting its {@link Artifact.Kind#KERNEL KERNEL} gets; empty when
 *                   the image has no kernel or leaves the choice to the driver
 * @param sizeBytes  bytes it takes in the image store
 * @param reason     why this image is a composition only and cannot boot a real guest (e.g. "no operating system
 *                   component 'windows-2022'"), or {@code null} when it carries bootable artifacts. A driver that
 *                   needs bits can refuse a composition-only image at once with this reason.
 * @param minMemoryMiB the least memory a guest booting it needs (its components say so), in MiB; 0 when the image
 *                   does not say. A VM made from it gets at least this much.
 */
public record ImageRef(String id, Offering offering, Kind kind, List<CatalogComponent> layers,
                       List<Artifact> artifacts, String kernelArgs, long sizeBytes, String reason,
                       long minMemoryMiB) {

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
        artifacts = artifacts == null ? List.of() : List.copyOf(artifacts);
        Set<Artifact.Kind> kinds = EnumSet.noneOf(Artifact.Kind.class);
        for (Artifact artifact : artifacts) {
            if (!kinds.add(artifact.kind())) {
                throw new IllegalArgumentException("image " + id + " has more than one " + artifact.kind() + " artifact");
            }
        }
        kernelArgs = kernelArgs == null ? "" : kernelArgs;
        if (minMemoryMiB < 0) {
            throw new IllegalArgumentException("image " + id + ": minMemoryMiB must not be negative: " + minMemoryMiB);
        }
    }

    /** An image that does not say how much memory a guest needs. */
    public ImageRef(String id, Offering offering, Kind kind, List<CatalogComponent> layers, List<Artifact> artifacts,
                    String kernelArgs, long sizeBytes, String reason) {
        this(id, offering, kind, layers, artifacts, kernelArgs, sizeBytes, reason, 0);
    }

    /** An image without a reason: real when it has artifacts. */
    public ImageRef(String id, Offering offering, Kind kind, List<CatalogComponent> layers, List<Artifact> artifacts,
                    String kernelArgs, long sizeBytes) {
        this(id, offering, kind, layers, artifacts, kernelArgs, sizeBytes, null, 0);
    }

    /** The artifact of the given kind, if the image has one. */
    public Optional<Artifact> artifact(Artifact.Kind artifactKind) {
        return artifacts.stream().filter(a -> a.kind() == artifactKind).findFirst();
    }

    /** True when the image is a composition only (no artifacts): enough for the libvirt test driver, not for QEMU. */
    public boolean compositionOnly() {
        return artifacts.isEmpty();
    }
}
