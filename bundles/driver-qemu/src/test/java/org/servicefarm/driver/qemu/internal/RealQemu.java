package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/** Settings and images for tests that run real QEMU guests (tag {@code real-qemu}). */
final class RealQemu {

    static final Path IMAGES = Path.of("/var/lib/servicefarm/images");

    private RealQemu() {
    }

    /**
     * The busybox static-site image: {@code -Dsf.image.busybox=DIR}, else the first composed image in
     * {@link #IMAGES} made of os/busybox and server/busybox-httpd without a disk.
     */
    static Image busyboxImage() throws IOException {
        String dir = System.getProperty("sf.image.busybox", "");
        if (!dir.isBlank()) {
            return Image.fromDirectory(Path.of(dir));
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(IMAGES, Files::isDirectory)) {
            for (Path d : dirs) {
                Path json = d.resolve("image.json");
                if (Files.exists(json)) {
                    String text = Files.readString(json);
                    if (text.contains("\"os/busybox/") && text.contains("\"server/busybox-httpd/") && !text.contains("\"disk\": true")) {
                        return Image.fromDirectory(d);
                    }
                }
            }
        }
        throw new IllegalStateException("no busybox image in " + IMAGES + ": run components/build and "
                + "components/compose --os busybox-1.35 --service static-site,busybox-httpd,none,80");
    }

    /** Settings with state and checkpoints under {@code root} (made traversable for QEMU's user). */
    static QemuSettings settings(Path root) throws IOException {
        Path state = root.resolve("s");
        Path checkpoints = root.resolve("c");
        Files.createDirectories(state);
        Files.createDirectories(checkpoints);
        for (Path p : List.of(root, checkpoints)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        String runAs = userExists("libvirt-qemu") ? "libvirt-qemu" : null;
        return QemuSettings.defaults().withDirectories(state, checkpoints, List.of(IMAGES)).withRunAs(runAs);
    }

    static boolean userExists(String user) throws IOException {
        return Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith(user + ":"));
    }

    static void assertOk(int port, String expect) {
        HttpProbe.Response r = HttpProbe.get("127.0.0.1", port, "/", Duration.ofSeconds(5));
        if (r.status() != 200 || !r.body().contains(expect)) {
            throw new AssertionError("port " + port + " answered " + r.status() + ": " + r.head());
        }
    }
}
