package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A bootable image as {@code components/compose} makes it: a kernel, an initrd, an optional
 * read-only disk and the kernel command line.
 *
 * @param key     the image key (the composed directory's name), or {@code null}
 * @param kernel  the kernel file
 * @param initrd  the initrd file
 * @param disk    the read-only raw disk, or {@code null}
 * @param cmdline the kernel command line
 * @param minMemoryMiB the least memory the image declares
 */
public record Image(String key, Path kernel, Path initrd, Path disk, String cmdline, int minMemoryMiB) {

    public Image {
        Checks.plain("kernel", kernel);
        Checks.plain("initrd", initrd);
        if (disk != null) {
            Checks.plain("disk", disk);
        }
        Checks.kernelCommandLine(cmdline);
    }

    /** Reads an image directory ({@code kernel}, {@code initrd}, optional {@code disk}, {@code image.json}). */
    public static Image fromDirectory(Path dir) throws IOException {
        Map<String, Object> json = Json.parseObject(Files.readString(dir.resolve("image.json")));
        String cmdline = Json.string(json, "cmdline");
        Path disk = Boolean.TRUE.equals(json.get("disk")) ? dir.resolve("disk") : null;
        return new Image(Json.string(json, "key"), dir.resolve("kernel"), dir.resolve("initrd"), disk,
                cmdline == null ? "" : cmdline, (int) Json.number(json, "minMemoryMiB", 128));
    }
}
