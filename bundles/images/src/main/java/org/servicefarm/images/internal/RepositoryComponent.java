package org.servicefarm.images.internal;

import java.util.List;
import java.util.Optional;

import org.servicefarm.api.image.ComponentInfo;

/**
 * One component of the repository, validated (see {@link Manifests}): nothing here is used as a file
 * path; its blobs are found by their sha256 alone.
 *
 * @param startName    the value of SF_SERVER / SF_RUNTIME for servers and runtimes ({@code start.name}), or null
 * @param runtimes     the runtimes a server can host ({@code start.runtimes}), by their start names
 * @param appRoot      the application's document root in the guest ({@code app.root}), or null
 * @param minMemoryMiB the least guest memory it needs, 0 when it does not say
 */
record RepositoryComponent(String id, ComponentInfo.Kind kind, String name, String version, List<String> provides,
                 List<String> needs, List<Blob> artifacts, String startName, List<String> runtimes, String appRoot,
                 int minMemoryMiB) {

    /** Artifact roles in manifests. */
    static final String KERNEL = "kernel";
    static final String INITRD_LAYER = "initrd-layer";
    static final String DISK = "disk";

    /**
     * One artifact of a component: a blob of the repository.
     *
     * @param cmdline the kernel command line (kernels only), or null
     */
    record Blob(String role, String sha256, long size, String cmdline) {
    }

    RepositoryComponent {
        provides = List.copyOf(provides);
        needs = List.copyOf(needs);
        artifacts = List.copyOf(artifacts);
        runtimes = List.copyOf(runtimes);
    }

    Optional<Blob> artifact(String role) {
        return artifacts.stream().filter(blob -> blob.role().equals(role)).findFirst();
    }

    ComponentInfo info() {
        java.util.Map<String, Long> sizes = new java.util.TreeMap<>();
        artifacts.forEach(blob -> sizes.merge(blob.role(), blob.size(), Long::sum));
        return new ComponentInfo(id, kind, name, version, provides, needs, sizes);
    }

    @Override
    public String toString() {
        return id;
    }
}
