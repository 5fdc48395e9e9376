package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compressed tier's zstd settings. */
class ArchiveTiersTest {

    @TempDir
    Path dir;

    @Test
    void theWindowCoversTheFileUpTo128MiB() {
        assertEquals(10, ArchiveTiers.windowLog(100));
        assertEquals(22, ArchiveTiers.windowLog(3 << 20));
        assertEquals(23, ArchiveTiers.windowLog(8 << 20));
        assertEquals(27, ArchiveTiers.windowLog(83L << 20));
        assertEquals(27, ArchiveTiers.windowLog(4L << 30));
    }

    /** As in a guest's saved state: incompressible data that comes again far beyond zstd's own window at level 3. */
    @Test
    void aRepeatFarApartIsFoundAndTheFileComesBackExactly() throws IOException {
        Random random = new Random(3);
        byte[] kernel = new byte[1 << 20];
        random.nextBytes(kernel);
        byte[] between = new byte[6 << 20];
        random.nextBytes(between);
        byte[] state = new byte[kernel.length * 2 + between.length];
        System.arraycopy(kernel, 0, state, 0, kernel.length);
        System.arraycopy(between, 0, state, kernel.length, between.length);
        System.arraycopy(kernel, 0, state, kernel.length + between.length, kernel.length);
        Path raw = Files.write(dir.resolve("vm.save"), state);
        Path compressed = dir.resolve("vm.save.zst");
        ArchiveTiers.compress(raw, compressed, 3);
        assertTrue(Files.size(compressed) < state.length - kernel.length / 2,
                "the second copy, 6 MiB after the first, costs next to nothing: " + Files.size(compressed));
        Path back = dir.resolve("back.save");
        ArchiveTiers.decompress(compressed, back);
        assertArrayEquals(state, Files.readAllBytes(back));
    }
}
