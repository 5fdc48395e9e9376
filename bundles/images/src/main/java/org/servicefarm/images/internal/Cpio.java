package org.servicefarm.images.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Writes a newc ("070701") cpio archive as {@code find . | LC_ALL=C sort | cpio -o -H newc -R 0:0
 * --reproducible} does for the entries given: owned by root, inodes numbered from 0 in archive order,
 * no device numbers, directories' link count 2 plus their subdirectories, a TRAILER!!! entry, and the
 * whole padded to 512-byte blocks. Header: the magic and 13 eight-digit hex fields (110 bytes), then the
 * name and its NUL padded to 4 bytes, then the data padded to 4 bytes.
 */
final class Cpio {

    static final int DIRECTORY = 0040000;
    static final int REGULAR = 0100000;
    private static final String TRAILER = "TRAILER!!!";
    private static final int BLOCK = 512;

    /**
     * One entry: a directory ({@code data} null) or a regular file.
     *
     * @param path relative, without a leading "./" or "/", e.g. {@code etc/sf/services/s1.conf}
     */
    record Entry(String path, int permissions, byte[] data) {
        boolean directory() {
            return data == null;
        }
    }

    private Cpio() {
    }

    /** The archive of {@code entries}, in the order given (sort them first for a reproducible archive). */
    static byte[] write(List<Entry> entries, long mtime) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int inode = 0;
        for (Entry entry : entries) {
            int links = 1;
            if (entry.directory()) {
                links = 2;
                String prefix = entry.path() + "/";
                for (Entry other : entries) {
                    if (other.directory() && other.path().startsWith(prefix)
                            && other.path().indexOf('/', prefix.length()) < 0) {
                        links++;
                    }
                }
            }
            int mode = (entry.directory() ? DIRECTORY : REGULAR) | (entry.permissions() & 07777);
            byte[] data = entry.directory() ? new byte[0] : entry.data();
            header(out, inode++, mode, links, mtime, data.length, entry.path());
            out.writeBytes(data);
            pad(out, 4);
        }
        header(out, 0, 0, 1, 0, 0, TRAILER);
        pad(out, BLOCK);
        return out.toByteArray();
    }

    private static void header(ByteArrayOutputStream out, int inode, int mode, int links, long mtime, long size,
                               String name) {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        StringBuilder header = new StringBuilder("070701");
        for (long field : new long[] {inode, mode, 0, 0, links, mtime, size, 0, 0, 0, 0, nameBytes.length + 1, 0}) {
            header.append(String.format(Locale.ROOT, "%08X", field));
        }
        out.writeBytes(header.toString().getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(nameBytes);
        out.write(0);
        pad(out, 4);
    }

    private static void pad(ByteArrayOutputStream out, int multiple) {
        while (out.size() % multiple != 0) {
            out.write(0);
        }
    }
}
