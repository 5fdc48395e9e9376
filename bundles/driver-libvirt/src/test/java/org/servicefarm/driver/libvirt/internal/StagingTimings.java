package org.servicefarm.driver.libvirt.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.libvirt.Connect;
import org.libvirt.StoragePool;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * Measures staging onto a QEMU host through a libvirt storage pool and defines (never starts) a QEMU domain from the
 * template, then removes all it made (not part of the tests: it needs libvirtd). Run from bundles/driver-libvirt
 * with the test classpath, as root or a member of group libvirt:
 * <pre>
 * java -cp target/classes:target/test-classes:CLASSPATH org.servicefarm.driver.libvirt.internal.StagingTimings \
 *   qemu:///system 30
 * </pre>
 */
public final class StagingTimings {

    private static final String POOL = "servicefarm-measure";

    private StagingTimings() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args.length > 0 ? args[0] : "qemu:///system";
        int mebibytes = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Path dir = Files.createTempDirectory("servicefarm-staging");
        byte[] content = new byte[mebibytes * 1024 * 1024];
        new Random(42).nextBytes(content);
        Path file = Files.write(dir.resolve("initrd"), content);
        Artifact initrd = new Artifact(Artifact.Kind.INITRD, file, sha256(content), content.length);
        Artifact kernel = new Artifact(Artifact.Kind.KERNEL, Files.write(dir.resolve("kernel"), new byte[] {1, 2, 3}),
                sha256(new byte[] {1, 2, 3}), 3);
        ImageRef image = new ImageRef("img-measure", Fixtures.WIKI, ImageRef.Kind.BUILT, List.of(),
                List.of(kernel, initrd), "console=ttyS0", content.length + 3L);

        LibvirtDriver driver = Fixtures.driver(dir.resolve("state"), dir);
        HostConnection host = driver.connect(Fixtures.host("measure", uri, Map.of("stagingPool", POOL,
                "stagingDirectory", "/var/lib/libvirt/images/" + POOL, "portRange", "29000-29099")), event -> { });
        try {
            long t0 = System.nanoTime();
            StagedImage staged = host.stage(image);
            long t1 = System.nanoTime();
            host.stage(image);
            long t2 = System.nanoTime();
            System.out.printf("%s: staged %d MiB (+ a 3-byte kernel) in %.0f ms, %.1f MiB/s; staged again (volumes "
                    + "there) in %.1f ms%n", uri, mebibytes, (t1 - t0) / 1e6, mebibytes / ((t1 - t0) / 1e9),
                    (t2 - t1) / 1e6);
            System.out.println("locations: " + staged.locations());
            Path volume = Path.of(staged.location(Artifact.Kind.INITRD).orElseThrow());
            if (uri.startsWith("qemu:///") && Files.isReadable(volume)) {
                System.out.println("the volume's content has the artifact's sha256: "
                        + sha256(Files.readAllBytes(volume)).equals(initrd.sha256()));
            }
            VmSpec spec = new VmSpec("sf-measure-define", Fixtures.WIKI, staged, 1, 128,
                    List.of(new VmSpec.GuestService("wiki", 80), new VmSpec.GuestService("ssh", 22)), java.time.Instant.now());
            long t3 = System.nanoTime();
            host.define(spec);
            System.out.printf("defined (not started) a QEMU domain from the template in %.1f ms%n",
                    (System.nanoTime() - t3) / 1e6);
            Connect raw = new Connect(uri, true);
            try {
                System.out.println(raw.domainLookupByName("sf-measure-define").getXMLDesc(0));
            } finally {
                raw.close();
            }
            host.destroy("sf-measure-define");
        } finally {
            host.close();
            driver.deactivate();
            removePool(uri);
        }
    }

    private static void removePool(String uri) throws Exception {
        Connect raw = new Connect(uri, false);
        try {
            StoragePool pool = raw.storagePoolLookupByName(POOL);
            for (String volume : pool.listVolumes()) {
                pool.storageVolLookupByName(volume).delete(0);
            }
            pool.destroy();
            pool.delete(0);
            pool.undefine();
            System.out.println("removed pool " + POOL + " and its directory");
        } finally {
            raw.close();
        }
    }

    private static String sha256(byte[] content) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    }
}
