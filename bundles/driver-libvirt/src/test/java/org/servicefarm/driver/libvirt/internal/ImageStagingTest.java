package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.StagedImage;
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
}
