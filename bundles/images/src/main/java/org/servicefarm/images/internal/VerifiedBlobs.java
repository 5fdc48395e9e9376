package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * Which repository blobs were found to have the content their name promises. A blob is hashed once;
 * it is hashed again only when its file changes (another inode, size or modification time).
 */
final class VerifiedBlobs {

    private record Stamp(Object fileKey, long size, FileTime modified) {
    }

    private final Map<String, Stamp> verified = new ConcurrentHashMap<>();

    /**
     * The blob's attributes, checked: a regular file (a symbolic link is not followed) of the size the
     * manifest gave.
     */
    static BasicFileAttributes check(Path file, RepositoryComponent.Blob blob) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("the repository has no blob " + blob.sha256() + " (its " + blob.role() + ")");
        }
        if (!attributes.isRegularFile()) {
            throw new IOException("blob " + blob.sha256() + " is not a regular file");
        }
        if (attributes.size() != blob.size()) {
            throw new IOException("blob " + blob.sha256() + " has " + attributes.size() + " bytes, its manifest says "
                    + blob.size());
        }
        return attributes;
    }

    /** Checks the blob and its digest (hashing it unless it was verified unchanged); reports bytes read. */
    void verify(Path file, RepositoryComponent.Blob blob, LongConsumer read) throws IOException {
        BasicFileAttributes attributes = check(file, blob);
        Stamp stamp = new Stamp(attributes.fileKey(), attributes.size(), attributes.lastModifiedTime());
        if (stamp.fileKey() != null && Objects.equals(verified.get(blob.sha256()), stamp)) {
            read.accept(blob.size());
            return;
        }
        String actual = sha256(file, read);
        if (!actual.equals(blob.sha256())) {
            verified.remove(blob.sha256());
            throw new IOException("blob " + blob.sha256() + " does not match its sha256 (it hashes to " + actual + ")");
        }
        verified.put(blob.sha256(), stamp);
    }

    /** Records a blob whose content was hashed while it was copied. */
    void verified(Path file, RepositoryComponent.Blob blob) throws IOException {
        BasicFileAttributes attributes = check(file, blob);
        verified.put(blob.sha256(), new Stamp(attributes.fileKey(), attributes.size(), attributes.lastModifiedTime()));
    }

    /** The sha256 of a file, in hex. */
    static String sha256(Path file) throws IOException {
        return sha256(file, n -> { });
    }

    /** The sha256 of a file, in hex, reporting the bytes read as it goes. */
    static String sha256(Path file, LongConsumer read) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
                read.accept(n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
