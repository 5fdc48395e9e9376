package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The delta tier's encoding, on synthetic saved states shaped like a hypervisor's: pages that shift and change. */
class DeltaTest {

    @TempDir
    Path dir;

    /** 8 MiB of random pages, each preceded by an 8-byte header as in QEMU's stream. */
    private static byte[] state(long seed, int pages) {
        Random random = new Random(seed);
        byte[] bytes = new byte[pages * (Delta.BLOCK + 8)];
        random.nextBytes(bytes);
        return bytes;
    }

    @Test
    void aStateThatSharesMostPagesWithItsBaseShrinksTenfoldAndComesBackExactly() throws IOException {
        byte[] base = state(1, 2048);
        byte[] target = base.clone();
        Random random = new Random(2);
        // 3% of the pages change, and 5 bytes inserted early shift everything after them
        for (int page = 0; page < 60; page++) {
            int at = random.nextInt(base.length - Delta.BLOCK);
            byte[] changed = new byte[Delta.BLOCK];
            random.nextBytes(changed);
            System.arraycopy(changed, 0, target, at, Delta.BLOCK);
        }
        byte[] shifted = new byte[target.length + 5];
        System.arraycopy(target, 0, shifted, 0, 1000);
        System.arraycopy(target, 1000, shifted, 1005, target.length - 1000);
        Path basePath = Files.write(dir.resolve("base"), base);
        Path targetPath = Files.write(dir.resolve("target"), shifted);

        long bytes = Delta.encode(basePath, targetPath, dir.resolve("delta"), 3, "img-1", "wiki@2.1/debian-12");
        assertTrue(bytes * 10 <= shifted.length, "at least 10x smaller: " + bytes + " of " + shifted.length);
        assertEquals(new Delta.Header("img-1", "wiki@2.1/debian-12", base.length), Delta.header(dir.resolve("delta")));
        Delta.decode(basePath, dir.resolve("delta"), dir.resolve("back"));
        assertArrayEquals(shifted, Files.readAllBytes(dir.resolve("back")));
    }

    @Test
    void aDeltaIsRefusedAgainstAnotherBase() throws IOException {
        Path basePath = Files.write(dir.resolve("base"), state(1, 16));
        Path targetPath = Files.write(dir.resolve("target"), state(2, 16));
        Delta.encode(basePath, targetPath, dir.resolve("delta"), 1, "img", "");
        Path other = Files.write(dir.resolve("other"), state(3, 17));
        assertThrows(IOException.class, () -> Delta.decode(other, dir.resolve("delta"), dir.resolve("back")));
    }
}
