package org.servicefarm.images.internal;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * One file of a built image, as the driver contract's typed artifact will carry it: what it is, where it
 * is, its digest and size. The repository's roles map onto it: the OS's kernel is KERNEL, the
 * concatenation of every initrd layer (the generated one last) is INITRD, the OS's read-only root disk is
 * DISK.
 */
record ImageArtifact(Kind kind, Path file, String sha256, long size) {

    enum Kind {
        KERNEL, INITRD, DISK, CHECKPOINT;

        /** The role name of {@link org.servicefarm.api.image.ImageRef#artifacts()} (API 1.x): kernel, initrd, disk. */
        String role() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The artifacts as the API 1.x record carries them: absolute file paths by role. */
    static Map<String, String> byRole(List<ImageArtifact> artifacts) {
        Map<String, String> map = new LinkedHashMap<>();
        artifacts.forEach(a -> map.put(a.kind().role(), a.file().toAbsolutePath().toString()));
        return map;
    }
}
