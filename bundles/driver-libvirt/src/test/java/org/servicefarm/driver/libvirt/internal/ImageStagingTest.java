package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Domain;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * Staging on libvirt's test driver: pools and volumes are real there, uploads are not (the test driver takes none,
 * and its guests run nothing). Uploads to a QEMU host are measured by {@link StagingTimings}.
 */
class ImageStagingTest {

    @TempDir
    Path dir;

    private LibvirtDriver driver;
    private HostConnection host;

    @BeforeEach
    void connect() throws Exception {
        driver = Fixtures.driver(dir.resolve("state"), dir);
        host = driver.connect(Fixtures.testHost("stager", Fixtures.nodeFile(dir, "stager", 2, 2048),
                Map.of("stagingDirectory", "/srv/servicefarm-pool")), event -> { });
    }

    @AfterEach
    void close() {
        host.close();
        driver.deactivate();
    }

    @Test
    void anImageWithoutArtifactsStagesToNothing() throws Exception {
        ImageRef image = Fixtures.image(List.of());
        StagedImage staged = host.stage(image);
        assertEquals(image, staged.image());
        assertEquals(Map.of(), staged.locations());
    }

    @Test
    void artifactsBecomeVolumesNamedByTheirSha256InTheStagingPool() throws Exception {
        Artifact kernel = Fixtures.artifact(dir, Artifact.Kind.KERNEL, "kernel bytes");
        Artifact initrd = Fixtures.artifact(dir, Artifact.Kind.INITRD, "initrd bytes");
        Artifact otherInitrd = Fixtures.artifact(dir, Artifact.Kind.INITRD, "another initrd");

        StagedImage first = host.stage(Fixtures.image(List.of(kernel, initrd)));
        assertEquals(Map.of(Artifact.Kind.KERNEL, "/srv/servicefarm-pool/" + kernel.sha256(),
                Artifact.Kind.INITRD, "/srv/servicefarm-pool/" + initrd.sha256()), first.locations());

        assertEquals(first.locations(), host.stage(Fixtures.image(List.of(kernel, initrd))).locations(),
                "staging again finds the volumes there");
        StagedImage second = host.stage(Fixtures.image(List.of(kernel, otherInitrd)));
        assertEquals(first.location(Artifact.Kind.KERNEL), second.location(Artifact.Kind.KERNEL),
                "images sharing a kernel share its volume");
        assertTrue(second.location(Artifact.Kind.INITRD).orElseThrow().endsWith(otherInitrd.sha256()));
    }

    @Test
    void aVolumeOfTheWrongSizeIsStagedAgain() throws Exception {
        Artifact kernel = Fixtures.artifact(dir, Artifact.Kind.KERNEL, "kernel bytes");
        Artifact truncated = new Artifact(kernel.kind(), kernel.file(), kernel.sha256(), kernel.sizeBytes() - 3);
        host.stage(Fixtures.image(List.of(truncated)));

        StagedImage staged = host.stage(Fixtures.image(List.of(kernel)));
        assertEquals("/srv/servicefarm-pool/" + kernel.sha256(), staged.location(Artifact.Kind.KERNEL).orElseThrow());
    }

    @Test
    void volumesNoNeededImageHasAreListedAndDeletedUnlessADomainBootsThem() throws Exception {
        Artifact kernel = Fixtures.artifact(dir, Artifact.Kind.KERNEL, "kernel bytes");
        Artifact initrd = Fixtures.artifact(dir, Artifact.Kind.INITRD, "initrd bytes");
        Artifact disk = Fixtures.artifact(dir, Artifact.Kind.DISK, "an old disk");
        ImageRef kept = Fixtures.image(List.of(kernel, initrd));
        ImageRef evicted = Fixtures.image(List.of(kernel, disk));
        host.stage(kept);
        host.stage(evicted);

        assertEquals(List.of(), host.stagedBeyond(List.of(kept, evicted)));
        List<StagedContent> beyond = host.stagedBeyond(List.of(kept));
        assertEquals(List.of(disk.sha256()), beyond.stream().map(StagedContent::id).toList(),
                "only the disk: the kernel is the kept image's too");
        assertEquals(disk.sizeBytes(), beyond.get(0).bytes());

        // a domain another farm defined on this libvirt, booting the disk's volume
        Domain theirs = ((LibvirtHostConnection) host).libvirt().domainDefineXML("<domain type='test'><name>theirs"
                + "</name><memory>65536</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'>"
                + "<source file='/srv/servicefarm-pool/" + disk.sha256() + "'/><target dev='vda'/></disk></devices>"
                + "</domain>");
        HypervisorException used = assertThrows(HypervisorException.class, () -> host.unstage(disk.sha256()));
        assertTrue(used.getMessage().contains("guest theirs uses volume"), used.getMessage());
        assertEquals(1, host.stagedBeyond(List.of(kept)).size(), "kept");

        theirs.undefine();
        theirs.free();
        host.unstage(disk.sha256());
        assertEquals(List.of(), host.stagedBeyond(List.of(kept)));
        host.unstage(disk.sha256()); // gone: nothing happens
        assertEquals(Map.of(Artifact.Kind.KERNEL, "/srv/servicefarm-pool/" + kernel.sha256(),
                Artifact.Kind.DISK, "/srv/servicefarm-pool/" + disk.sha256()), host.stage(evicted).locations(),
                "staged again when it is needed again");
        assertThrows(HypervisorException.class, () -> host.unstage("../../etc/passwd"));
    }

    /** The staging pool's space, as libvirt reads it; no pool is made for asking, and a deleted volume frees its bytes. */
    @Test
    void theStagingPoolsSpaceIsReadAndAnUnstagedVolumeGivesItsBytesBack() throws Exception {
        assertEquals(Optional.empty(), host.stagingSpace(), "no staging pool yet, and none made for asking");

        Artifact kernel = Fixtures.artifact(dir, Artifact.Kind.KERNEL, "kernel bytes");
        Artifact disk = Fixtures.artifact(dir, Artifact.Kind.DISK, "a disk of some bytes");
        host.stage(Fixtures.image(List.of(kernel, disk)));
        StagingSpace staged = host.stagingSpace().orElseThrow();
        assertTrue(staged.capacityBytes() > 0 && staged.availableBytes() < staged.capacityBytes(), staged.toString());

        host.unstage(disk.sha256());
        StagingSpace after = host.stagingSpace().orElseThrow();
        assertEquals(staged.capacityBytes(), after.capacityBytes());
        assertEquals(staged.availableBytes() + disk.sizeBytes(), after.availableBytes(), "the disk's bytes are back");
    }
}
