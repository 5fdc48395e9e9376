package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.driver.HypervisorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The saved-state files of one host's archived VMs: one file per VM under the host's state directory. For
 * QEMU hosts libvirtd writes and reads them, so the directory must be one it can reach.
 */
final class SavedStates {

    private static final Logger LOG = LoggerFactory.getLogger(SavedStates.class);

    private final String hostName;
    private final Path directory;

    SavedStates(String hostName, Path directory) {
        this.hostName = hostName;
        this.directory = directory;
    }

    /**
     * Where a VM's saved state goes. The id is encoded so that no id can name a path outside the host's
     * state directory (or collide with another id); very long ids use their SHA-256.
     */
    Path file(String vmId) {
        StringBuilder name = new StringBuilder();
        for (byte b : vmId.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                name.append((char) c);
            } else {
                name.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        String fileName = name.length() <= 200 ? name.toString() : "sha256-" + sha256(vmId);
        return directory.resolve(fileName + ".save");
    }

    /** The file a save of the VM writes, its directory created. */
    Path prepare(String vmId) throws HypervisorException {
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new HypervisorException("host " + hostName + ": cannot create state directory " + directory + ": "
                    + LibvirtErrors.shown(e.toString()), e);
        }
        return file(vmId);
    }

    /** Whether the VM has a saved state in any tier. */
    boolean exists(String vmId) {
        return tier(vmId) != null;
    }

    /** Where a VM's saved state is kept in {@code tier}. */
    Path file(String vmId, ArchiveTier tier) {
        Path raw = file(vmId);
        return switch (tier) {
            case SAVED -> raw;
            case COMPRESSED -> raw.resolveSibling(raw.getFileName() + ".zst");
            case DELTA -> raw.resolveSibling(raw.getFileName() + ".delta");
        };
    }

    /** The named pipe a restore reads the VM's expanded saved state through ({@link PipedSavedState}). */
    Path pipe(String vmId) {
        Path raw = file(vmId);
        return raw.resolveSibling(raw.getFileName() + ".pipe");
    }

    /** The tier the VM's saved state is kept in, or {@code null} when it has none. */
    ArchiveTier tier(String vmId) {
        for (ArchiveTier tier : ArchiveTier.values()) {
            if (Files.isRegularFile(file(vmId, tier))) {
                return tier;
            }
        }
        return null;
    }

    /**
     * The base saved state of an image on this host: the first saved state of a VM made from it (until a checkpoint
     * of the image stands in for it), against which deltas are made.
     */
    Path base(String imageId) {
        return directory.resolve("bases").resolve(file(imageId).getFileName().toString().replace(".save", ".base"));
    }

    /** Deletes the VM's saved state in every tier. */
    void delete(String vmId) {
        for (ArchiveTier tier : ArchiveTier.values()) {
            deleteFile(file(vmId, tier));
        }
        deleteFile(pipe(vmId));
    }

    void deleteFile(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("host {}: cannot delete saved state {}: {}", hostName, file, LibvirtErrors.shown(e.toString()));
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
