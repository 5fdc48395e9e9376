package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;

/**
 * Moves one VM's saved state between the archive tiers on disk, whatever wrote it: the raw file (SAVED), the same
 * zstd-compressed (COMPRESSED), or a {@link Delta} against the image's base (DELTA). Each move writes the new file
 * beside the old one and deletes the old one only once the new one is complete, so a failure leaves the VM in the tier
 * it was in.
 */
final class ArchiveTiers {

    private final SavedStates files;

    ArchiveTiers(SavedStates files) {
        this.files = files;
    }

    /**
     * Moves a VM's saved state from the tier it is in to {@code to}.
     *
     * @param imageId the image it was made from (DELTA's base)
     * @param note    what the delta's header records of it (its offering, naming its components)
     */
    Archive move(String vmId, ArchiveTier to, int level, String imageId, String note) throws IOException {
        ArchiveTier from = files.tier(vmId);
        if (from == null) {
            throw new IOException("VM " + vmId + " has no saved state");
        }
        Path raw = files.file(vmId, ArchiveTier.SAVED);
        if (from != to) {
            if (from != ArchiveTier.SAVED) {
                expand(vmId, from, raw, imageId);
            }
            long rawBytes = Files.size(raw);
            Path target = files.file(vmId, to);
            Path partial = target.resolveSibling(target.getFileName() + ".part");
            if (to == ArchiveTier.COMPRESSED) {
                compress(raw, partial, level);
            } else if (to == ArchiveTier.DELTA) {
                Path base = files.base(imageId);
                if (!Files.isRegularFile(base)) {
                    // the image's first saved state becomes its base (a checkpoint of the image would be better)
                    Files.createDirectories(base.getParent());
                    Path copying = base.resolveSibling(base.getFileName() + ".part");
                    Files.copy(raw, copying, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(copying, base, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
                Delta.encode(base, raw, partial, level, imageId, note);
            }
            if (to != ArchiveTier.SAVED) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                files.deleteFile(raw);
            }
            if (from != ArchiveTier.SAVED && from != to) {
                files.deleteFile(files.file(vmId, from));
            }
            return new Archive(to, Files.size(files.file(vmId, to)), rawBytes);
        }
        return new Archive(to, Files.size(files.file(vmId, to)), to == ArchiveTier.SAVED ? Files.size(raw) : -1);
    }

    /** Makes the raw saved state from whatever tier the VM is in, for a restore; returns its path. */
    Path materialize(String vmId, String imageId) throws IOException {
        ArchiveTier tier = files.tier(vmId);
        Path raw = files.file(vmId, ArchiveTier.SAVED);
        if (tier == null) {
            throw new IOException("VM " + vmId + " has no saved state");
        }
        if (tier != ArchiveTier.SAVED) {
            expand(vmId, tier, raw, imageId);
        }
        return raw;
    }

    /**
     * Writes the raw saved state of a VM kept in the COMPRESSED or DELTA tier into {@code out}, front to back, as it
     * is expanded (for a restore that reads it through a pipe); leaves {@code out} open.
     */
    void expandInto(String vmId, ArchiveTier tier, String imageId, OutputStream out) throws IOException {
        if (tier == ArchiveTier.COMPRESSED) {
            try (InputStream source = new ZstdInputStream(Files.newInputStream(files.file(vmId, tier)))) {
                source.transferTo(out);
            }
        } else if (tier == ArchiveTier.DELTA) {
            Delta.decode(files.base(imageId), files.file(vmId, tier), out);
        } else {
            throw new IOException("the " + tier + " tier of " + vmId + " is read as it is, not expanded");
        }
    }

    private void expand(String vmId, ArchiveTier tier, Path raw, String imageId) throws IOException {
        Path partial = raw.resolveSibling(raw.getFileName() + ".part");
        if (tier == ArchiveTier.COMPRESSED) {
            decompress(files.file(vmId, tier), partial);
        } else {
            Delta.decode(files.base(imageId), files.file(vmId, tier), partial);
        }
        Files.move(partial, raw, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * zstd's long-distance matching reaches this far back at most (2^27 = 128 MiB: what every zstd reader decodes
     * without being told, ZSTD_WINDOWLOG_LIMIT_DEFAULT). A guest's saved state repeats itself far apart: in the 83 MiB
     * save of the 256 MiB counter guest, the compressed kernel sits twice in guest memory (where the boot loader put it,
     * and where the kernel moved it before unpacking itself), some 7.8 MiB that does not compress, 30.6 MiB apart in
     * the stream; zstd's own window at level 3 (2 MiB) never sees the second copy. Measured with the zstd CLI: level 3
     * 2.70x, level 3 with a 2^27 window 3.62x in about the same time (benchmarks/RESULTS.md).
     */
    static final int MAX_WINDOW_LOG = 27;

    static void compress(Path in, Path out, int level) throws IOException {
        try (InputStream source = Files.newInputStream(in);
             ZstdOutputStream sink = new ZstdOutputStream(Files.newOutputStream(out), level)) {
            sink.setLong(windowLog(Files.size(in)));
            source.transferTo(sink);
        }
    }

    /** The window that covers a file of {@code bytes} (so a small one needs no 128 MiB buffer), 2^27 at most. */
    static int windowLog(long bytes) {
        int log = 64 - Long.numberOfLeadingZeros(Math.max(1, bytes - 1));
        return Math.max(10, Math.min(MAX_WINDOW_LOG, log));
    }

    static void decompress(Path in, Path out) throws IOException {
        try (InputStream source = new ZstdInputStream(Files.newInputStream(in));
             OutputStream sink = Files.newOutputStream(out)) {
            source.transferTo(sink);
        }
    }
}
