package org.servicefarm.driver.libvirt.internal;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;

/**
 * A saved state as what differs from a base saved state of the same image, rsync-style: the base is cut into blocks,
 * the target is scanned with a rolling checksum, and every block-long window that equals a base block (whatever its
 * offset: a hypervisor's stream shifts as pages are or are not zero) becomes a reference to it; the rest is kept as
 * literals. The whole is zstd-compressed. Independent of hypervisors and of which tier a policy chooses.
 * <p>
 * Format (inside zstd): magic, the image id and a note (e.g. the VM's components) as UTF strings, the base's length,
 * then ops: {@code 'C' block count} copies {@code count} base blocks from {@code block}, {@code 'L' length bytes} is a
 * literal, {@code 'E' length} ends a target of {@code length} bytes.
 */
final class Delta {

    static final int BLOCK = 4096;
    private static final String MAGIC = "SFDELTA1";
    private static final int MOD = 1 << 16;

    private Delta() {
    }

    /** What a delta says of itself. */
    record Header(String imageId, String note, long baseLength) {
    }

    /**
     * Writes {@code target} as a delta against {@code base}.
     *
     * @return the delta's size in bytes
     */
    static long encode(Path base, Path target, Path out, int level, String imageId, String note) throws IOException {
        try (FileChannel b = FileChannel.open(base, StandardOpenOption.READ);
             FileChannel t = FileChannel.open(target, StandardOpenOption.READ)) {
            MappedByteBuffer baseBytes = b.map(FileChannel.MapMode.READ_ONLY, 0, b.size());
            MappedByteBuffer targetBytes = t.map(FileChannel.MapMode.READ_ONLY, 0, t.size());
            BlockIndex index = new BlockIndex(baseBytes, (int) (b.size() / BLOCK));
            try (DataOutputStream d = new DataOutputStream(new BufferedOutputStream(new ZstdOutputStream(
                    new BufferedOutputStream(Files.newOutputStream(out)), level), 1 << 16))) {
                d.writeUTF(MAGIC);
                d.writeUTF(imageId);
                d.writeUTF(note);
                d.writeLong(b.size());
                scan(baseBytes, targetBytes, index, d);
                d.writeByte('E');
                d.writeLong(t.size());
            }
        }
        return Files.size(out);
    }

    private static void scan(MappedByteBuffer base, MappedByteBuffer target, BlockIndex index, DataOutputStream d)
            throws IOException {
        int n = target.capacity();
        int literalStart = 0;
        int p = 0;
        int a = 0;
        int s = 0;
        boolean fresh = true;
        int runBlock = -1;
        int runCount = 0;
        while (p + BLOCK <= n) {
            if (fresh) {
                a = 0;
                s = 0;
                for (int i = 0; i < BLOCK; i++) {
                    int x = target.get(p + i) & 0xff;
                    a = (a + x) % MOD;
                    s = (s + a) % MOD;
                }
                fresh = false;
            }
            int block = index.find((s << 16) | a, target, p);
            if (block >= 0) {
                if (p > literalStart) {
                    flushRun(d, runBlock, runCount);
                    runCount = 0;
                    literal(d, target, literalStart, p);
                }
                if (runCount > 0 && block == runBlock + runCount) {
                    runCount++;
                } else {
                    flushRun(d, runBlock, runCount);
                    runBlock = block;
                    runCount = 1;
                }
                p += BLOCK;
                literalStart = p;
                fresh = true;
                continue;
            }
            if (p + BLOCK < n) {
                // roll the window one byte: drop target[p], take target[p + BLOCK]
                int out = target.get(p) & 0xff;
                int in = target.get(p + BLOCK) & 0xff;
                a = Math.floorMod(a - out + in, MOD);
                s = Math.floorMod(s - BLOCK * out + a, MOD);
            }
            p++;
        }
        flushRun(d, runBlock, runCount);
        if (n > literalStart) {
            literal(d, target, literalStart, n);
        }
    }

    private static void flushRun(DataOutputStream d, int block, int count) throws IOException {
        if (count > 0) {
            d.writeByte('C');
            d.writeInt(block);
            d.writeInt(count);
        }
    }

    private static void literal(DataOutputStream d, MappedByteBuffer target, int from, int to) throws IOException {
        byte[] chunk = new byte[Math.min(to - from, 1 << 20)];
        for (int at = from; at < to; at += chunk.length) {
            int length = Math.min(chunk.length, to - at);
            target.get(at, chunk, 0, length);
            d.writeByte('L');
            d.writeInt(length);
            d.write(chunk, 0, length);
        }
    }

    /** Reads a delta's header without decoding it. */
    static Header header(Path delta) throws IOException {
        try (DataInputStream d = open(delta)) {
            return readHeader(d, delta);
        }
    }

    private static DataInputStream open(Path delta) throws IOException {
        return new DataInputStream(new BufferedInputStream(new ZstdInputStream(
                new BufferedInputStream(Files.newInputStream(delta))), 1 << 16));
    }

    private static Header readHeader(DataInputStream d, Path delta) throws IOException {
        if (!MAGIC.equals(d.readUTF())) {
            throw new IOException(delta + " is not a ServiceFarm delta");
        }
        return new Header(d.readUTF(), d.readUTF(), d.readLong());
    }

    /** Rebuilds the saved state a delta stands for into {@code out}. */
    static void decode(Path base, Path delta, Path out) throws IOException {
        try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(out), 1 << 16)) {
            decode(base, delta, o);
        }
    }

    /** Writes the saved state a delta stands for into {@code o}, front to back (a pipe will do); leaves it open. */
    static void decode(Path base, Path delta, OutputStream o) throws IOException {
        try (DataInputStream d = open(delta);
             FileChannel b = FileChannel.open(base, StandardOpenOption.READ)) {
            Header header = readHeader(d, delta);
            if (header.baseLength() != b.size()) {
                throw new IOException("the base " + base + " has " + b.size() + " bytes, the delta was made against "
                        + header.baseLength());
            }
            MappedByteBuffer baseBytes = b.map(FileChannel.MapMode.READ_ONLY, 0, b.size());
            byte[] buffer = new byte[1 << 20];
            long written = 0;
            while (true) {
                int op = d.read();
                if (op < 0) {
                    throw new EOFException(delta + " ends without its end mark");
                }
                switch (op) {
                    case 'C' -> {
                        long from = (long) d.readInt() * BLOCK;
                        long length = (long) d.readInt() * BLOCK;
                        for (long at = from; at < from + length; at += buffer.length) {
                            int chunk = (int) Math.min(buffer.length, from + length - at);
                            baseBytes.get((int) at, buffer, 0, chunk);
                            o.write(buffer, 0, chunk);
                        }
                        written += length;
                    }
                    case 'L' -> {
                        int length = d.readInt();
                        copy(d, o, buffer, length);
                        written += length;
                    }
                    case 'E' -> {
                        long expected = d.readLong();
                        if (expected != written) {
                            throw new IOException(delta + " rebuilt " + written + " bytes, not " + expected);
                        }
                        return;
                    }
                    default -> throw new IOException(delta + " has an unknown op " + op);
                }
            }
        }
    }

    private static void copy(InputStream in, OutputStream out, byte[] buffer, int length) throws IOException {
        int left = length;
        while (left > 0) {
            int read = in.read(buffer, 0, Math.min(buffer.length, left));
            if (read < 0) {
                throw new EOFException("a delta's literal is cut short");
            }
            out.write(buffer, 0, read);
            left -= read;
        }
    }

    /** The base's blocks by their weak checksum, in an open-addressed table (no boxing on the hot path). */
    private static final class BlockIndex {
        private final int[] keys;
        private final int[] blocks;
        private final int mask;
        private final MappedByteBuffer base;

        BlockIndex(MappedByteBuffer base, int count) {
            this.base = base;
            int size = Integer.highestOneBit(Math.max(16, count * 2)) << 1;
            keys = new int[size];
            blocks = new int[size];
            java.util.Arrays.fill(blocks, -1);
            mask = size - 1;
            for (int block = 0; block < count; block++) {
                int a = 0;
                int s = 0;
                int at = block * BLOCK;
                for (int i = 0; i < BLOCK; i++) {
                    a = (a + (base.get(at + i) & 0xff)) % MOD;
                    s = (s + a) % MOD;
                }
                add((s << 16) | a, block);
            }
        }

        private void add(int key, int block) {
            int slot = mix(key) & mask;
            while (blocks[slot] >= 0) {
                if (keys[slot] == key && same(blocks[slot] * BLOCK, block * BLOCK)) {
                    return; // an identical block is indexed already (zero pages, say)
                }
                slot = (slot + 1) & mask;
            }
            keys[slot] = key;
            blocks[slot] = block;
        }

        /** A base block equal to target[at, at + BLOCK), or -1. */
        int find(int key, MappedByteBuffer target, int at) {
            int slot = mix(key) & mask;
            while (blocks[slot] >= 0) {
                if (keys[slot] == key && equal(blocks[slot] * BLOCK, target, at)) {
                    return blocks[slot];
                }
                slot = (slot + 1) & mask;
            }
            return -1;
        }

        private boolean same(int x, int y) {
            return base.slice(x, BLOCK).equals(base.slice(y, BLOCK));
        }

        private boolean equal(int baseAt, MappedByteBuffer target, int at) {
            return base.slice(baseAt, BLOCK).equals(target.slice(at, BLOCK));
        }

        private static int mix(int key) {
            int h = key * 0x9E3779B1;
            return h ^ (h >>> 15);
        }
    }

    /** A note for the header: the offering the VM serves, naming its components. */
    static String note(String offeringKey) {
        return new String(offeringKey.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }
}
