package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * The image directory every qemu host of the appliance shares: a file no image of the store needs is listed, and
 * deleted unless a VM record or a checkpoint manifest of any host (connected or not) names it.
 */
class StagedFilesTest {

    @TempDir
    Path dir;

    private QemuDriver.Settings settings() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        return new QemuDriver.Settings(null, dir.resolve("state"), dir.resolve("data"), images, Duration.ofSeconds(1),
                Duration.ofSeconds(1));
    }

    private static String sha(char digit) {
        return String.valueOf(digit).repeat(64);
    }

    private Path staged(QemuDriver.Settings settings, char digit, int bytes) throws Exception {
        return Files.write(settings.imageDir().resolve(sha(digit)), new byte[bytes]);
    }

    private static ImageRef image(char kernel, char initrd) {
        return new ImageRef("img", null, ImageRef.Kind.BUILT, List.of(), List.of(
                new Artifact(Artifact.Kind.KERNEL, Path.of("/store/kernel"), sha(kernel), 1),
                new Artifact(Artifact.Kind.INITRD, Path.of("/store/initrd"), sha(initrd), 1)), "", 1);
    }

    @Test
    void filesNoNeededImageHasAreDeletedUnlessAVmOrACheckpointOfAnyHostBootsThem() throws Exception {
        QemuDriver.Settings settings = settings();
        Path kernel = staged(settings, '1', 10);
        Path initrd = staged(settings, '2', 20);
        Path vmDisk = staged(settings, '3', 30);
        Path checkpointDisk = staged(settings, '4', 40);
        Files.write(settings.imageDir().resolve(".staging-" + sha('5') + "-7"), new byte[5]); // a staging under way

        // host a's VM boots the kernel, initrd and disk 3; host b's checkpoint boots disk 4 (b is not connected)
        VmFile vm = new VmFile(VmFile.SCHEMA, "vm-1", "a", null, "img", 1, 128, "2026-11-28T00:00:00Z", List.of(),
                new VmFile.BootFile(kernel.toString(), initrd.toString(), vmDisk.toString(), ""), null, null, true);
        vm.write(Files.createDirectories(dir.resolve("state/a/vms")).resolve("vm-1.json"));
        Path cpDir = Files.createDirectories(dir.resolve("data/b/checkpoints/cp-1"));
        new Checkpoint("cp-1", cpDir, new Image("img", kernel, initrd, checkpointDisk, "", 128), 128, 1, List.of(80),
                "pc", "7.2", List.of(), List.of(), false, 0, Map.of()).write();

        List<StagedContent> beyond = StagedFiles.beyond(settings, List.of(image('1', '2')));
        assertEquals(Map.of(sha('3'), 30L, sha('4'), 40L), Map.of(beyond.get(0).id(), beyond.get(0).bytes(),
                beyond.get(1).id(), beyond.get(1).bytes()), "the kernel and initrd are needed; part files are not listed");
        assertEquals(2, beyond.size());

        HypervisorException byVm = assertThrows(HypervisorException.class, () -> StagedFiles.unstage(settings, sha('3')));
        assertTrue(byVm.getMessage().startsWith("VM vm-1 on host a boots from"), byVm.getMessage());
        HypervisorException byCheckpoint = assertThrows(HypervisorException.class,
                () -> StagedFiles.unstage(settings, sha('4')));
        assertTrue(byCheckpoint.getMessage().startsWith("checkpoint cp-1 on host b boots from"),
                byCheckpoint.getMessage());

        Files.delete(dir.resolve("state/a/vms/vm-1.json")); // the VM destroyed
        StagedFiles.unstage(settings, sha('3'));
        assertFalse(Files.exists(vmDisk));
        StagedFiles.unstage(settings, sha('3')); // gone: nothing happens
        assertTrue(Files.exists(checkpointDisk), "its checkpoint is still there");
        assertTrue(Files.exists(kernel));

        assertThrows(HypervisorException.class, () -> StagedFiles.unstage(settings, "../../state/a"));
    }

    @Test
    void anUnreadableVmRecordKeepsEveryFile() throws Exception {
        QemuDriver.Settings settings = settings();
        Path kernel = staged(settings, '1', 10);
        Files.writeString(Files.createDirectories(dir.resolve("state/a/vms")).resolve("vm-2.json"), "{ cut short");
        HypervisorException kept = assertThrows(HypervisorException.class, () -> StagedFiles.unstage(settings, sha('1')));
        assertTrue(kept.getMessage().contains("unreadable VM record (vm-2.json)"), kept.getMessage());
        assertTrue(Files.exists(kernel));
    }

    /** The staging space is the image directory's file system, as the JVM reads it; none while it does not exist. */
    @Test
    void theStagingSpaceIsTheImageDirectorysFileSystem() throws Exception {
        QemuDriver.Settings missing = new QemuDriver.Settings(null, dir.resolve("state"), dir.resolve("data"),
                dir.resolve("no-images"), Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertEquals(java.util.Optional.empty(), StagedFiles.space(missing));

        QemuDriver.Settings settings = settings();
        StagingSpace space = StagedFiles.space(settings).orElseThrow();
        java.nio.file.FileStore store = Files.getFileStore(settings.imageDir());
        assertEquals(store.getTotalSpace(), space.capacityBytes());
        assertTrue(Math.abs(store.getUsableSpace() - space.availableBytes()) < 64L << 20, space + " vs "
                + store.getUsableSpace() + " bytes usable (others write to this file system too)");
    }
}
