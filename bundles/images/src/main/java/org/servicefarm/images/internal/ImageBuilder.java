package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.servicefarm.api.image.Artifact;

/**
 * Writes one image directory, {@code <images>/<id>/}: {@code kernel} and {@code disk} hard-linked to
 * their repository blobs where the file system allows (copied otherwise), {@code initrd} the
 * concatenation of the initrd layers and the generated layer, {@code image.json}. Everything is written
 * into a temporary directory ({@code .tmp-<id>-<random>}) that is renamed into place at the end, so a
 * crash leaves a temporary directory (removed at the next start) and never a half image under an
 * image's name. Every blob's content is checked against its sha256 on the way. Files are world-readable
 * (0644, directories 0755): QEMU runs as another user.
 */
final class ImageBuilder {

    static final String KERNEL = "kernel";
    static final String INITRD = "initrd";
    static final String DISK = "disk";
    static final String TMP_PREFIX = ".tmp-";

    /** Where a build is, reported as it goes. */
    interface Progress {
        void step(String doing);

        void bytes(long done);
    }

    /** A built image: its directory, its files, and what it takes in the store (linked files take nothing). */
    record Built(Path dir, List<Artifact> artifacts, long sizeBytes, ImageJson json) {
    }

    private final VerifiedBlobs verified;
    private final boolean hardLinks;

    ImageBuilder(VerifiedBlobs verified, boolean hardLinks) {
        this.verified = verified;
        this.hardLinks = hardLinks;
    }

    /** The steps {@link #build} reports, for a composition with or without a disk. */
    static int steps(Composition composition) {
        return composition.disk() == null ? 3 : 4;
    }

    Built build(Repository repository, Composition composition, byte[] generated, String id, Path images,
                Instant createdAt, Progress progress) throws IOException {
        Files.createDirectories(images);
        Path tmp = images.resolve(TMP_PREFIX + id + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Files.createDirectory(tmp);
        try {
            long start = System.nanoTime();
            List<Artifact> artifacts = new ArrayList<>();
            long size = 0;
            progress.step("checking the kernel");
            Placed kernel = place(repository, composition.kernel(), tmp.resolve(KERNEL), progress);
            artifacts.add(new Artifact(Artifact.Kind.KERNEL, images.resolve(id).resolve(KERNEL),
                    composition.kernel().sha256(), composition.kernel().size()));
            size += kernel.linked ? 0 : composition.kernel().size();
            if (composition.disk() != null) {
                progress.step("checking the disk");
                Placed disk = place(repository, composition.disk(), tmp.resolve(DISK), progress);
                size += disk.linked ? 0 : composition.disk().size();
                artifacts.add(new Artifact(Artifact.Kind.DISK, images.resolve(id).resolve(DISK),
                        composition.disk().sha256(), composition.disk().size()));
            }
            progress.step("writing the initrd (" + (composition.layers().size() + 1) + " layers)");
            Path initrd = tmp.resolve(INITRD);
            String initrdSha = writeInitrd(repository, composition, generated, initrd, progress);
            long initrdSize = Files.size(initrd);
            size += initrdSize;
            artifacts.add(new Artifact(Artifact.Kind.INITRD, images.resolve(id).resolve(INITRD), initrdSha,
                    initrdSize));
            List<String> layers = new ArrayList<>();
            composition.layers().forEach(layer -> layers.add(layer.sha256()));
            layers.add(sha256(generated));
            long buildMillis = (System.nanoTime() - start) / 1_000_000;
            // image.json itself (about 1 kB) is not counted
            ImageJson json = new ImageJson(id, composition.componentIds(), layers, composition.cmdline(),
                    composition.disk() != null, composition.minMemoryMiB(),
                    composition.services().stream().map(Composition.ServiceConf::line).toList(), ImageJson.SCHEMA,
                    ImageJson.OfferingJson.of(composition.offering()),
                    ImageJson.ServiceJson.of(composition.guestServices()), composition.kernel().sha256(),
                    composition.disk() == null ? null : composition.disk().sha256(), initrdSha, size,
                    createdAt.toString(), buildMillis);
            writeSynced(tmp.resolve(ImageJson.FILE), json.bytes());
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            progress.step("moving the image into place");
            Path target = images.resolve(id);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !whole(target, id)) {
                // something under the image's name that is not a whole image (never ours: ours are renamed
                // into place whole): put it aside, then ours in its place
                Path aside = images.resolve(TMP_PREFIX + id + "-broken-"
                        + Long.toHexString(ThreadLocalRandom.current().nextLong()));
                Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                deleteQuietly(aside);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!whole(target, id)) {
                    throw e;
                }
                // built meanwhile by another store on the same directory: the same content by its name
                deleteTree(tmp);
            }
            return new Built(target, artifacts, size, json);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private record Placed(boolean linked) {
    }

    /** Puts a blob into the image: a hard link when possible (its content checked), else a checked copy. */
    private Placed place(Repository repository, RepositoryComponent.Blob blob, Path target, Progress progress) throws IOException {
        Path source = repository.blob(blob.sha256());
        VerifiedBlobs.check(source, blob);
        if (hardLinks) {
            try {
                Files.createLink(target, source);
                verified.verify(source, blob, progress::bytes);
                return new Placed(true);
            } catch (UnsupportedOperationException | IOException e) {
                if (e instanceof IOException && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    throw (IOException) e; // linked, but the blob is not what its name says
                }
                // another file system, or links not allowed: copy
            }
        }
        try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            copyChecked(source, blob, out, progress);
        }
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        verified.verified(source, blob);
        return new Placed(false);
    }

    private String writeInitrd(Repository repository, Composition composition, byte[] generated, Path initrd,
                               Progress progress) throws IOException {
        MessageDigest whole = VerifiedBlobs.sha256();
        try (FileChannel channel = FileChannel.open(initrd, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             OutputStream out = new DigestOutputStream(Channels.newOutputStream(channel), whole)) {
            for (RepositoryComponent.Blob layer : composition.layers()) {
                Path source = repository.blob(layer.sha256());
                VerifiedBlobs.check(source, layer);
                copyChecked(source, layer, out, progress);
                verified.verified(source, layer);
            }
            out.write(generated);
            progress.bytes(generated.length);
            out.flush();
            channel.force(true);
        }
        Files.setPosixFilePermissions(initrd, PosixFilePermissions.fromString("rw-r--r--"));
        return HexFormat.of().formatHex(whole.digest());
    }

    /** Copies a blob to {@code out}, failing if its content does not hash to its name. */
    private static void copyChecked(Path source, RepositoryComponent.Blob blob, OutputStream out, Progress progress)
            throws IOException {
        MessageDigest digest = VerifiedBlobs.sha256();
        long copied = 0;
        try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
                copied += n;
                progress.bytes(n);
            }
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (copied != blob.size() || !actual.equals(blob.sha256())) {
            throw new IOException("blob " + blob.sha256() + " does not match its sha256 (it hashes to " + actual + ")");
        }
    }

    private static void writeSynced(Path file, byte[] bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(bytes));
            channel.force(true);
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /** True when {@code dir} is a whole image directory: its image.json names it {@code id}, its files are there. */
    static boolean whole(Path dir, String id) {
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            ImageJson json = ImageJson.read(dir.resolve(ImageJson.FILE));
            return json != null && id.equals(json.key())
                    && Files.isRegularFile(dir.resolve(KERNEL), LinkOption.NOFOLLOW_LINKS)
                    && Files.isRegularFile(dir.resolve(INITRD), LinkOption.NOFOLLOW_LINKS)
                    && (!Boolean.TRUE.equals(json.disk()) || Files.isRegularFile(dir.resolve(DISK), LinkOption.NOFOLLOW_LINKS));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(VerifiedBlobs.sha256().digest(bytes));
    }

    /** Deletes a directory tree without following symbolic links (a link is removed, never its target). */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException e) {
            // left for the next start's clean-up
        }
    }
}
