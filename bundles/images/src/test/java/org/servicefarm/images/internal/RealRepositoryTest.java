package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * A real build from the real repository ({@code target/components} of this worktree, as
 * {@code components/build} writes it), compared with {@code components/compose}'s image of the same
 * combination: the same kernel and disk, the same layers in the same order, the same generated archive.
 * <p>
 * Nothing is skipped: when the repository lacks a component these combinations need, the test builds
 * them with {@code components/build} (about 1 s when cached, 1-2 min cold: it downloads Debian packages
 * and runs mmdebstrap; root on Debian 12 needed); when that cannot be done it fails saying how.
 */
class RealRepositoryTest {

    private static final Path ROOT = Path.of("..", "..").toAbsolutePath().normalize();
    private static final Path REPO = ROOT.resolve("target/components");
    private static final List<String> NEEDED = List.of("os/busybox", "os/debian-12", "lib/glibc",
            "server/busybox-httpd", "server/nginx", "runtime/php", "app/static-site", "app/wiki");
    private static Path work;
    private static ExecutorService pool;

    @BeforeAll
    static void repository() throws Exception {
        ensureRepository();
        work = Files.createDirectories(ROOT.resolve("target/real-repository-test"));
        ImageBuilder.deleteTree(work);
        Files.createDirectories(work);
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void clean() throws IOException {
        if (pool != null) {
            pool.shutdownNow();
        }
        if (work != null) {
            ImageBuilder.deleteTree(work);
        }
    }

    private static void ensureRepository() throws Exception {
        List<String> missing = missing();
        if (missing.isEmpty()) {
            return;
        }
        String how = "The real component repository " + REPO + " lacks " + missing + ". Build it as root on Debian 12 "
                + "with `components/build` in " + ROOT + " (about 2 min cold; see components/README.md), then run "
                + "the tests again.";
        if (!"0".equals(run(List.of("id", "-u")).trim()) || run(List.of("sh", "-c", "command -v apt-cache mmdebstrap "
                + "mke2fs cpio jq")).lines().count() < 5) {
            fail(how + " (This test would have built it, but it needs root, apt-cache, mmdebstrap, mke2fs, cpio and jq.)");
        }
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("components/build").toString()));
        command.addAll(missing);
        Path log = Files.createDirectories(ROOT.resolve("target")).resolve("real-repository-test-build.log");
        System.out.println("RealRepositoryTest: building " + missing + " with components/build (log: " + log + ")");
        Process build = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!build.waitFor(10, TimeUnit.MINUTES) || build.exitValue() != 0) {
            build.destroyForcibly();
            fail(how + " (components/build failed or took over 10 min: see " + log + ")");
        }
        if (!missing().isEmpty()) {
            fail(how + " (components/build ran but " + missing() + " are still missing: see " + log + ")");
        }
    }

    private static List<String> missing() {
        try {
            List<String> ids = Repository.read(REPO).components().stream().map(RepositoryComponent::id).toList();
            return NEEDED.stream().filter(prefix -> ids.stream().noneMatch(id -> id.startsWith(prefix + "/"))).toList();
        } catch (RepositoryException e) {
            return NEEDED;
        }
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            fail(command + " did not finish");
        }
        if (process.exitValue() != 0 && !command.get(0).equals("sh")) {
            fail(command + " failed (" + process.exitValue() + "): " + out);
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // scenario, os (catalog), server (catalog), runtime, app, version, compose --os, compose --service
            "a: static site on busybox httpd, busybox-1.35, busybox-httpd-1.35, none, static-site, 1.0, busybox, static-site,busybox-httpd,none,80",
            "h: wiki on busybox with glibc, busybox-1.35, nginx-1.22, php-8.2, wiki, 2.1, busybox, wiki,nginx,php,80",
            "d: wiki on debian-12 as the first session asks, debian-12, nginx-1.22, php-8.2, wiki, 2.1, debian-12, wiki,nginx,php,80",
    })
    void theJavaImageIsComposesImage(String scenario, String os, String server, String runtime, String app,
                                     String version, String composeOs, String composeApp, String composeServer,
                                     String composeRuntime, int port) throws Exception {
        Offering offering = new Offering(app, version, new Environment(os, server, runtime, List.of()), "standard");
        List<VmSpec.GuestService> services = List.of(new VmSpec.GuestService(app, port));

        long bashStart = System.nanoTime();
        Path bashDir = Path.of(run(List.of(ROOT.resolve("components/compose").toString(), "--repo", REPO.toString(),
                "--cache", work.resolve("bash").toString(), "--os", composeOs, "--service",
                String.join(",", composeApp, composeServer, composeRuntime, Integer.toString(port)))).trim()
                .lines().reduce((first, second) -> second).orElseThrow());
        long bashMillis = (System.nanoTime() - bashStart) / 1_000_000;

        ImageCache cache = new ImageCache(new ImageCache.Settings(work.resolve("java"), 1L << 40, true, "guest",
                Duration.ZERO), Clock.systemUTC(), pool, Map::of, (c, now) -> Optional.of(c));
        long javaStart = System.nanoTime();
        ImageCache.Plan plan = cache.plan(new RepositoryDirectory(REPO).current(), offering, services);
        ImageRef image = cache.obtain(plan, offering, services);
        long javaMillis = (System.nanoTime() - javaStart) / 1_000_000;
        long cachedStart = System.nanoTime();
        cache.obtain(cache.plan(new RepositoryDirectory(REPO).current(), offering, services), offering, services);
        long cachedMicros = (System.nanoTime() - cachedStart) / 1_000;
        Path javaDir = image.artifact(Artifact.Kind.INITRD).orElseThrow().file().getParent();

        ImageJson bash = ImageJson.read(bashDir.resolve("image.json"));
        ImageJson java = ImageJson.read(javaDir.resolve("image.json"));
        List<String> bashLayers = bash.layers().subList(0, bash.layers().size() - 1);
        List<String> javaLayers = java.layers().subList(0, java.layers().size() - 1);
        assertEquals(bashLayers, javaLayers, "the same layers in the same order");
        assertEquals(bash.components(), java.components());
        assertEquals(bash.cmdline(), java.cmdline());
        assertEquals(bash.cmdline(), image.kernelArgs());
        assertEquals(bash.disk(), java.disk());
        assertEquals(bash.minMemoryMiB(), java.minMemoryMiB());
        assertEquals(bash.services(), java.services());
        assertEquals(VerifiedBlobs.sha256(bashDir.resolve("kernel")), java.kernelSha256());
        assertTrue(Files.isSameFile(javaDir.resolve("kernel"), REPO.resolve("blobs/sha256").resolve(java.kernelSha256())),
                "the kernel is a hard link to its blob");
        if (Boolean.TRUE.equals(java.disk())) {
            assertTrue(Files.isSameFile(javaDir.resolve("disk"), bashDir.resolve("disk")), "the same disk blob");
        }
        byte[] bashInitrd = Files.readAllBytes(bashDir.resolve("initrd"));
        byte[] javaInitrd = Files.readAllBytes(javaDir.resolve("initrd"));
        long layerBytes = 0;
        for (String layer : javaLayers) {
            layerBytes += Files.size(REPO.resolve("blobs/sha256").resolve(layer));
        }
        assertEquals(sha256(Arrays.copyOf(bashInitrd, (int) layerBytes)),
                sha256(Arrays.copyOf(javaInitrd, (int) layerBytes)), "the same layers, byte for byte");
        byte[] bashGenerated = Arrays.copyOfRange(bashInitrd, (int) layerBytes, bashInitrd.length);
        byte[] javaGenerated = Arrays.copyOfRange(javaInitrd, (int) layerBytes, javaInitrd.length);
        assertArrayEquals(CpioReader.gunzip(bashGenerated), CpioReader.gunzip(javaGenerated),
                "the same generated archive (hostname, sN.conf, status files), byte for byte");
        boolean sameGzip = Arrays.equals(bashGenerated, javaGenerated);
        System.out.printf("%s: java %s (%d ms cold, %d us cached), compose %s (%d ms); initrd %.1f MB, image %.1f MB "
                        + "in the store; generated layer gzip %s, image id %s%n", scenario, image.id(), javaMillis,
                cachedMicros, bashDir.getFileName(), bashMillis, javaInitrd.length / 1e6, image.sizeBytes() / 1e6,
                sameGzip ? "identical" : "differs (another deflate)",
                image.id().equals(bashDir.getFileName().toString()) ? "equal to compose's key" : "differs");
        if (sameGzip) {
            assertEquals(bashDir.getFileName().toString(), image.id(), "the same content, the same address");
        }
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(VerifiedBlobs.sha256().digest(bytes));
    }
}
