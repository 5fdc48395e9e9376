package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.ImageRef;

/**
 * The driver's image directory, one file per artifact named by its sha256, which every qemu host of the appliance
 * stages into and boots from: what no image of the store needs ({@link #beyond}) and its deletion ({@link #unstage})
 * unless a guest of any of those hosts uses it. A guest is known by its files, not by a connection: a VM's record
 * ({@code <stateDir>/<host>/vms/*.json}) names what it boots, a checkpoint's manifest
 * ({@code <dataDir>/<host>/checkpoints/<id>/manifest.json}) what its clones boot; a host not connected now has them too.
 */
final class StagedFiles {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** One lock per file of the image directory, held while it is staged or deleted: every host of the JVM shares it. */
    private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();

    private StagedFiles() {
    }

    /** The lock a staging or a deletion of {@code file} holds. */
    static Object lock(Path file) {
        return LOCKS.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new Object());
    }

    /** The staged files of {@code driver}'s image directory that no image of {@code needed} has an artifact of. */
    static List<StagedContent> beyond(QemuDriver.Settings driver, Collection<ImageRef> needed) throws HypervisorException {
        Set<String> wanted = new HashSet<>();
        needed.forEach(image -> image.artifacts().forEach(artifact -> wanted.add(artifact.sha256())));
        List<StagedContent> beyond = new ArrayList<>();
        if (!Files.isDirectory(driver.imageDir())) {
            return beyond;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(driver.imageDir())) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (SHA256.matcher(name).matches() && !wanted.contains(name) && Files.isRegularFile(file)) {
                    beyond.add(new StagedContent(name, "image file " + name.substring(0, 12) + "…", Files.size(file)));
                }
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot list the image directory " + driver.imageDir() + ": "
                    + Checks.message(e.getMessage(), 300), e);
        }
        return beyond;
    }

    /**
     * The file system of {@code driver}'s image directory: its size and what an unprivileged writer can still write
     * there (what else lives on it counts); empty while the directory does not exist.
     */
    static Optional<StagingSpace> space(QemuDriver.Settings driver) throws HypervisorException {
        if (!Files.isDirectory(driver.imageDir())) {
            return Optional.empty();
        }
        try {
            FileStore store = Files.getFileStore(driver.imageDir());
            long capacity = store.getTotalSpace();
            return capacity <= 0 ? Optional.empty()
                    : Optional.of(new StagingSpace(capacity, Math.min(store.getUsableSpace(), capacity)));
        } catch (IOException e) {
            throw new HypervisorException("cannot read the space of the image directory " + driver.imageDir() + ": "
                    + Checks.message(e.getMessage(), 300), e);
        }
    }

    /** Deletes a staged file unless a VM or a checkpoint of any qemu host of the driver boots from it. */
    static void unstage(QemuDriver.Settings driver, String sha256) throws HypervisorException {
        if (!SHA256.matcher(sha256).matches()) {
            throw new HypervisorException(Checks.message(sha256, 80) + " names no staged file (a sha256)");
        }
        Path file = driver.imageDir().resolve(sha256);
        synchronized (lock(file)) {
            try {
                if (!Files.exists(file)) {
                    return;
                }
                String user = user(driver, file);
                if (user != null) {
                    throw new HypervisorException(user + " boots from image file " + sha256.substring(0, 12) + "…");
                }
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new HypervisorException("cannot delete image file " + sha256.substring(0, 12) + "…: "
                        + Checks.message(e.getMessage(), 300), e);
            }
        }
    }

    /** What boots from {@code file} ("VM x on host h", "checkpoint c on host h"), or null; unreadable records count. */
    private static String user(QemuDriver.Settings driver, Path file) throws IOException {
        for (Path hostState : directories(driver.stateRoot())) {
            Path vms = hostState.resolve("vms");
            if (!Files.isDirectory(vms)) {
                continue;
            }
            try (DirectoryStream<Path> records = Files.newDirectoryStream(vms, "*.json")) {
                for (Path record : records) {
                    Image image;
                    try {
                        image = VmFile.read(record).image();
                    } catch (IOException | RuntimeException e) {
                        return "an unreadable VM record (" + record.getFileName() + ")"; // may name it: keep it
                    }
                    if (boots(image, file)) {
                        return "VM " + record.getFileName().toString().replaceFirst("\\.json$", "") + " on host "
                                + hostState.getFileName();
                    }
                }
            }
        }
        for (Path hostData : directories(driver.dataRoot())) {
            for (Path checkpoint : directories(hostData.resolve("checkpoints"))) {
                if (!Files.exists(checkpoint.resolve("manifest.json"))) {
                    continue; // not complete: made from an image the store holds (it is being obtained)
                }
                try {
                    if (boots(Checkpoint.read(checkpoint).image(), file)) {
                        return "checkpoint " + checkpoint.getFileName() + " on host " + hostData.getFileName();
                    }
                } catch (IOException | RuntimeException e) {
                    return "an unreadable checkpoint (" + checkpoint.getFileName() + ")";
                }
            }
        }
        return null;
    }

    private static boolean boots(Image image, Path file) {
        return Stream.of(image.kernel(), image.initrd(), image.disk())
                .anyMatch(path -> path != null && path.toAbsolutePath().normalize().equals(file.toAbsolutePath()
                        .normalize()));
    }

    private static List<Path> directories(Path root) throws IOException {
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(root)) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(root, Files::isDirectory)) {
                children.forEach(found::add);
            }
        }
        return found;
    }
}
