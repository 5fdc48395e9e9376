package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.osgi.util.converter.Converters;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/** Builders shared by the driver's tests. */
final class Fixtures {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of("cve-1")), "standard");
    static final java.time.Instant CREATED = java.time.Instant.parse("2026-01-02T03:04:05.678Z");

    private Fixtures() {
    }

    /** A libvirt test-driver node file with the given CPUs and memory, plus any domain elements. */
    static Path nodeFile(Path dir, String name, int cpus, long memoryMiB, String... domains) throws IOException {
        StringBuilder xml = new StringBuilder("<node>\n  <cpu>\n    <mhz>2400</mhz>\n    <model>x86_64</model>\n"
                + "    <nodes>1</nodes>\n    <sockets>1</sockets>\n    <cores>" + cpus + "</cores>\n"
                + "    <threads>1</threads>\n    <active>" + cpus + "</active>\n  </cpu>\n"
                + "  <memory>" + memoryMiB * 1024 + "</memory>\n");
        for (String domain : domains) {
            xml.append(domain).append('\n');
        }
        xml.append("</node>\n");
        return Files.writeString(dir.resolve(name + ".xml"), xml);
    }

    static HostRecord host(String name, String uri, Map<String, String> properties) {
        return new HostRecord(name, "libvirt", uri, new Capacity(4, 8192, 8), 0.10, "standard", properties);
    }

    static HostRecord testHost(String name, Path nodeFile, Map<String, String> properties) {
        return host(name, "test://" + nodeFile.toAbsolutePath(), properties);
    }

    static ImageRef image(List<Artifact> artifacts) {
        return new ImageRef("img-" + Integer.toHexString(artifacts.hashCode()), WIKI, ImageRef.Kind.BUILT, List.of(),
                artifacts, "", artifacts.stream().mapToLong(Artifact::sizeBytes).sum());
    }

    /** An image without artifacts, staged: what a test-driver host defines VMs from. */
    static StagedImage staged() {
        return new StagedImage(image(List.of()), Map.of());
    }

    /** A staged image whose artifacts are at the given host-local locations, booting with {@code kernelArgs}. */
    static StagedImage staged(String kernelArgs, Map<Artifact.Kind, String> locations) {
        ImageRef image = new ImageRef("img-staged", WIKI, ImageRef.Kind.BUILT, List.of(), List.of(), kernelArgs, 0);
        return new StagedImage(image, locations);
    }

    /** An artifact whose file in {@code dir} holds {@code content}. */
    static Artifact artifact(Path dir, Artifact.Kind kind, String content) throws IOException {
        byte[] bytes = content.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path file = Files.write(dir.resolve(kind.name().toLowerCase(java.util.Locale.ROOT) + "-" + content.hashCode()),
                bytes);
        try {
            String sha256 = java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            return new Artifact(kind, file, sha256, bytes.length);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The first of {@code count} consecutive ports nothing on this machine listens on now (tests share the machine
     * with running appliances and other builds). Chosen below Linux's ephemeral range (32768 and up), where the
     * source ports of every outgoing connection on the machine would otherwise take a test's port at random.
     */
    static int freePorts(int count) throws IOException {
        java.util.Random random = new java.util.Random();
        for (int tries = 0; tries < 200; tries++) {
            int first = 24_000 + random.nextInt(8_000 - count);
            boolean free = true;
            for (int port = first; port < first + count && free; port++) {
                free = PortAllocator.bindable(new java.net.InetSocketAddress("127.0.0.1", port));
            }
            if (free) {
                return first;
            }
        }
        throw new IOException("no " + count + " consecutive free ports found in 24000-31999");
    }

    /** The port range of {@code count} ports from {@code first}, as a host's portRange says it. */
    static String range(int first, int count) {
        return first + "-" + (first + count - 1);
    }

    /** The settings of a host of {@code kind} on this machine with the default port range and forward address. */
    static HostSettings settings(HostSettings.Kind kind) {
        return new HostSettings("alpha", kind, kind == HostSettings.Kind.TEST ? "test:///default" : "qemu:///system",
                true, 0, 0, "127.0.0.1", new PortAllocator(20000, 20999), "127.0.0.1", HostSettings.DEFAULT_STAGING_POOL,
                HostSettings.DEFAULT_STAGING_DIRECTORY, HostSettings.DEFAULT_GUEST_LABEL);
    }

    static VmSpec spec(String vmId, VmSpec.GuestService... services) {
        return new VmSpec(vmId, WIKI, staged(), 1, 128, List.of(services), Fixtures.CREATED);
    }

    static VmSpec.GuestService http() {
        return new VmSpec.GuestService("wiki", 80);
    }

    /**
     * An active driver whose saved states go to {@code stateDir} and whose hosts may read test node files from
     * {@code nodeDir}, otherwise configured as shipped; fails clearly when libvirt0 is missing.
     */
    static LibvirtDriver driver(Path stateDir, Path nodeDir) throws Exception {
        requireNativeLibvirt();
        LibvirtDriver driver = new LibvirtDriver();
        driver.activate(config(Map.of("stateDir", stateDir.toString(), "testNodeDirectory", nodeDir.toString())));
        return driver;
    }

    /** The driver's configuration: {@code overrides} over the defaults. */
    static LibvirtDriverConfig config(Map<String, Object> overrides) {
        return Converters.standardConverter().convert(overrides).to(LibvirtDriverConfig.class);
    }

    /** The rules of a driver configured with {@code overrides}, e.g. the node directory. */
    static HostRules rules(Map<String, Object> overrides) {
        return HostRules.from(config(overrides));
    }

    /** The tests run libvirt for real: without the native library they fail, saying what to install. */
    static void requireNativeLibvirt() {
        try {
            Class.forName("org.libvirt.Library");
        } catch (ClassNotFoundException | LinkageError e) {
            throw new AssertionError("the native libvirt library could not be loaded: install the Debian package "
                    + "libvirt0 (apt-get install libvirt0; the project's test script does this). Cause: " + e, e);
        }
    }
}
