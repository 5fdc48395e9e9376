package org.servicefarm.images.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** A tiny newc cpio reader for the tests: every entry's header fields, name and data, up to TRAILER!!!. */
final class CpioReader {

    record Entry(long inode, int mode, long uid, long gid, long links, long mtime, long devMajor, long devMinor,
                 String name, byte[] data) {
        @Override
        public String toString() {
            return name + " " + Integer.toOctalString(mode) + " " + data.length + " bytes";
        }
    }

    private CpioReader() {
    }

    static byte[] gunzip(byte[] gz) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Entry> read(byte[] archive) {
        List<Entry> entries = new ArrayList<>();
        int at = 0;
        while (true) {
            String magic = new String(archive, at, 6, StandardCharsets.US_ASCII);
            if (!magic.equals("070701")) {
                throw new IllegalStateException("no newc magic at " + at + ": " + magic);
            }
            long[] f = new long[13];
            for (int i = 0; i < 13; i++) {
                f[i] = Long.parseLong(new String(archive, at + 6 + 8 * i, 8, StandardCharsets.US_ASCII), 16);
            }
            int nameSize = (int) f[11];
            String name = new String(archive, at + 110, nameSize - 1, StandardCharsets.US_ASCII);
            if (archive[at + 110 + nameSize - 1] != 0) {
                throw new IllegalStateException("name of " + name + " is not NUL-terminated");
            }
            int dataAt = align(at + 110 + nameSize);
            int size = (int) f[6];
            if (name.equals("TRAILER!!!")) {
                return entries;
            }
            entries.add(new Entry(f[0], (int) f[1], f[2], f[3], f[4], f[5], f[7], f[8], name,
                    Arrays.copyOfRange(archive, dataAt, dataAt + size)));
            at = align(dataAt + size);
        }
    }

    private static int align(int at) {
        return (at + 3) & ~3;
    }
}
