package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.ImageException;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.store.ImageCatalog;
import org.servicefarm.api.image.ImageStatus.State;

/** The image cache over a small repository on disk: content addressing, one build, images on disk, the budget. */
class ImageCacheTest {

    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;
    private TestRepository repo;
    private Path images;
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final Map<String, Integer> live = new ConcurrentHashMap<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    /** Least recently used first: enough to show which images may go; the real policies are tested in their bundles. */
    private final ImageCache.Ranker lru = (candidates, now) -> Optional.of(candidates.stream()
            .sorted(Comparator.comparing(EvictionCandidate::lastUsedAt)).toList());

    @BeforeEach
    void repository() {
        repo = TestRepository.standard(tmp.resolve("repo"));
        images = tmp.resolve("images");
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private ImageCache cache(long budget, Duration grace, java.util.concurrent.Executor executor,
                             ImageCache.Ranker ranker) {
        ImageCache cache = new ImageCache(new ImageCache.Settings(images, budget, true, "guest", grace), clock,
                executor, () -> Map.copyOf(live), ranker);
        cache.scan();
        return cache;
    }

    private ImageCache cache() {
        return cache(1L << 40, Duration.ZERO, pool, lru);
    }

    static Offering offering(String app, String version, String os, String server, String runtime, String... patches) {
        return new Offering(app, version, new Environment(os, server, runtime, List.of(patches)), "standard");
    }

    private static final Offering SITE = offering("site", "1.0", "tiny-1", "web-1.2", "none");
    private static final Offering WIKI = offering("wiki", "2.1", "tiny-1", "web-1.2", "php-8");
    private static final Offering SITE_ON_DISKY = offering("site", "1.0", "disky-2", "web-1.2", "none");
    private static final Offering WIKI_ON_DISKY = offering("wiki", "2.1", "disky-2", "web-1.2", "php-8");

    private static List<VmSpec.GuestService> port(Offering offering, int port) {
        return List.of(new VmSpec.GuestService(offering.service(), port));
    }

    private ImageCache.Plan plan(ImageCache cache, Offering offering) {
        return cache.plan(new RepositoryDirectory(repo.root).current(), offering, port(offering, 80));
    }

    private ImageRef obtain(ImageCache cache, Offering offering) throws ImageException {
        return cache.obtain(plan(cache, offering), offering, port(offering, 80));
    }

    // ---- content addressing ----------------------------------------------------------------

    @Test
    void theSameCombinationHasTheSameIdAndAChangedComponentAnother() throws Exception {
        ImageCache cache = cache();
        String first = plan(cache, WIKI).id();
        assertEquals(first, plan(cache, WIKI).id());
        assertEquals(first, plan(cache(), WIKI).id(), "another cache, the same repository: the same id");
        assertTrue(ImageCache.REAL_ID.matcher(first).matches(), first);
        assertNotEquals(first, plan(cache, SITE).id());
        assertNotEquals(first, cache.plan(new RepositoryDirectory(repo.root).current(), WIKI, port(WIKI, 8080)).id(),
                "another guest port is another generated layer");

        ImageRef built = obtain(cache, WIKI);
        assertEquals(first, built.id());
        assertEquals(images.resolve(first), built.artifact(Artifact.Kind.INITRD).orElseThrow().file().getParent());

        // a new build of the server: another blob, another image; the old one stays as it was
        repo.add("server", "web", "1.2-1", List.of("server:web", "server:web-1.2"), List.of("abi:libc", "init:sf"),
                List.of(repo.layer("web-rebuilt", 5000)), Map.of("start", Map.of("name", "web", "runtimes",
                        List.of("none", "php")))).write();
        String changed = plan(cache, WIKI).id();
        assertNotEquals(first, changed);
        assertNotEquals(first, obtain(cache, WIKI).id());
        assertTrue(Files.isDirectory(images.resolve(first)));
        assertEquals(2, cache.builds.get());
    }

    @Test
    void anImageIsTheKernelTheConcatenatedLayersAndTheGeneratedLayer() throws Exception {
        ImageRef image = obtain(cache(), WIKI);
        Path dir = images.resolve(image.id());
        assertTrue(Files.isSameFile(dir.resolve("kernel"), repo.blobPath(repo.sha("os/tiny/1.0", "kernel"))),
                "the kernel is a hard link to its blob");
        assertFalse(Files.exists(dir.resolve("disk")));
        byte[] initrd = Files.readAllBytes(dir.resolve("initrd"));
        int at = 0;
        for (String id : List.of("os/tiny/1.0", "lib/libc/9", "server/web/1.2-1", "runtime/php/8.1-3", "app/wiki/2.1")) {
            byte[] layer = Files.readAllBytes(repo.blobPath(repo.sha(id, "initrd-layer")));
            assertEquals(ImageBuilder.sha256(layer), ImageBuilder.sha256(java.util.Arrays.copyOfRange(initrd, at,
                    at + layer.length)), id + " is the next layer");
            at += layer.length;
        }
        byte[] generated = java.util.Arrays.copyOfRange(initrd, at, initrd.length);
        List<CpioReader.Entry> entries = CpioReader.read(CpioReader.gunzip(generated));
        String conf = entries.stream().filter(e -> e.name().equals("etc/sf/services/s1.conf")).findFirst()
                .map(e -> new String(e.data())).orElseThrow();
        assertEquals("SF_ID=s1\nSF_APP=wiki\nSF_APP_DIR=/srv/sf/apps/wiki-2.1\nSF_SERVER=web\nSF_PORT=80\n"
                + "SF_RUNTIME=php\nSF_BACKEND_PORT=9001\n", conf);
        ImageJson json = ImageJson.read(dir.resolve("image.json"));
        assertEquals(image.id(), json.key());
        assertEquals(List.of("os/tiny/1.0", "lib/libc/9", "server/web/1.2-1", "runtime/php/8.1-3", "app/wiki/2.1"),
                json.components());
        assertEquals("console=ttyS0 quiet", json.cmdline());
        assertEquals(128, json.minMemoryMiB());
        assertEquals(WIKI, json.offering().toOffering());
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("initrd"))));
        assertEquals(Files.size(dir.resolve("initrd")), image.sizeBytes(), "linked kernel takes nothing");
        assertNull(image.reason());
        Artifact kernel = image.artifact(Artifact.Kind.KERNEL).orElseThrow();
        assertEquals(repo.sha("os/tiny/1.0", "kernel"), kernel.sha256());
        assertEquals(dir.resolve("kernel"), kernel.file());
        assertEquals(ImageBuilder.sha256(initrd), image.artifact(Artifact.Kind.INITRD).orElseThrow().sha256());
        assertEquals(initrd.length, image.artifact(Artifact.Kind.INITRD).orElseThrow().sizeBytes());
        assertEquals("console=ttyS0 quiet", image.kernelArgs());
        assertEquals(128, image.minMemoryMiB(), "what the image's components ask for");
    }

    // ---- one build -------------------------------------------------------------------------

    @Test
    void sixteenConcurrentCallersGetOneBuild() throws Exception {
        CountDownLatch called = new CountDownLatch(16);
        // the build starts only once all 16 have asked (or after 5 s): every caller finds it under way
        ImageCache cache = cache(1L << 40, Duration.ZERO, task -> pool.execute(() -> {
            try {
                called.await(5, TimeUnit.SECONDS);
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            task.run();
        }), lru);
        ExecutorService callers = Executors.newFixedThreadPool(16);
        try {
            List<Future<ImageRef>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                results.add(callers.submit(() -> {
                    called.countDown();
                    return obtain(cache, WIKI);
                }));
            }
            Set<ImageRef> images = new HashSet<>();
            for (Future<ImageRef> result : results) {
                images.add(result.get(30, TimeUnit.SECONDS));
            }
            assertEquals(1, images.size(), "every caller got the same image");
            assertEquals(1, cache.builds.get(), "one build");
            assertEquals(16, cache.status(images.iterator().next().id()).orElseThrow().uses());
            try (Stream<Path> dirs = Files.list(this.images)) {
                assertEquals(1, dirs.count(), "one directory, no temporary left");
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void aBuildReportsItsProgressAndRunsInTheBackground() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        ImageCache cache = cache(1L << 40, Duration.ZERO, task -> pool.execute(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            task.run();
        }), lru);
        ImageStatus started = cache.build(plan(cache, WIKI), WIKI, port(WIKI, 80));
        assertEquals(State.BUILDING, started.state());
        assertEquals(ImageRef.Kind.PREBUILT, started.kind());
        assertEquals(0, started.progress().step());
        assertEquals(4, started.progress().steps(), "make room, kernel, initrd, move into place");
        assertTrue(started.progress().bytesTotal() > 18_000, started.progress().toString());
        assertNull(started.image());
        assertEquals(List.of("os/tiny/1.0", "lib/libc/9", "server/web/1.2-1", "runtime/php/8.1-3", "app/wiki/2.1"),
                started.components());
        assertEquals(started.id(), cache.build(plan(cache, WIKI), WIKI, port(WIKI, 80)).id());
        go.countDown();
        ImageRef image = obtain(cache, WIKI);
        ImageStatus ready = cache.status(image.id()).orElseThrow();
        assertEquals(State.READY, ready.state());
        assertEquals(1.0, ready.progress().fraction());
        assertEquals(ready.progress().bytesTotal(), ready.progress().bytesDone());
        assertEquals(1, cache.builds.get());
    }

    @Test
    void aFailedBuildSaysWhyLeavesNothingAndIsBuiltAgainByTheNextCaller() throws Exception {
        Path blob = repo.blobPath(repo.sha("runtime/php/8.1-3", "initrd-layer"));
        byte[] good = Files.readAllBytes(blob);
        byte[] bad = good.clone();
        bad[bad.length / 2] ^= 1;
        Files.write(blob, bad);
        ImageCache cache = cache();
        ImageException failure = assertThrows(ImageException.class, () -> obtain(cache, WIKI));
        assertTrue(failure.getMessage().contains("does not match its sha256"), failure.getMessage());
        String id = plan(cache, WIKI).id();
        ImageStatus failed = cache.status(id).orElseThrow();
        assertEquals(State.FAILED, failed.state());
        assertTrue(failed.detail().contains("does not match its sha256"), failed.detail());
        try (Stream<Path> left = Files.list(images)) {
            assertEquals(List.of(), left.toList(), "no half image, no temporary directory");
        }

        Files.write(blob, good);
        assertEquals(id, obtain(cache, WIKI).id());
        assertEquals(State.READY, cache.status(id).orElseThrow().state());
        assertEquals(2, cache.builds.get());
    }

    @Test
    void aBlobThatIsASymbolicLinkIsRefused() throws Exception {
        Path blob = repo.blobPath(repo.sha("app/site/1.0", "initrd-layer"));
        Path elsewhere = tmp.resolve("elsewhere");
        Files.move(blob, elsewhere);
        Files.createSymbolicLink(blob, elsewhere);
        ImageException failure = assertThrows(ImageException.class, () -> obtain(cache(), SITE));
        assertTrue(failure.getMessage().contains("is not a regular file"), failure.getMessage());
    }

    // ---- images on disk --------------------------------------------------------------------

    @Test
    void anImageOnDiskIsUsedInsteadOfBuilding() throws Exception {
        ImageRef built = obtain(cache(), WIKI_ON_DISKY);
        assertTrue(built.artifact(Artifact.Kind.DISK).isPresent());

        ImageCache restarted = cache();
        ImageStatus found = restarted.status(built.id()).orElseThrow();
        assertEquals(State.READY, found.state());
        assertEquals(ImageRef.Kind.PREBUILT, found.kind());
        assertEquals(WIKI_ON_DISKY, found.offering(), "image.json names its offering");
        ImageRef used = obtain(restarted, WIKI_ON_DISKY);
        assertEquals(built.id(), used.id());
        assertEquals(built.artifacts(), used.artifacts());
        assertEquals(ImageRef.Kind.PREBUILT, used.kind());
        assertEquals(0, restarted.builds.get(), "nothing built");
        assertEquals(built.sizeBytes(), used.sizeBytes(), "hard links count for nothing either way");
    }

    @Test
    void anImageComposedByComponentsComposeIsUsedToo() throws Exception {
        ImageCache cache = cache();
        String id = plan(cache, SITE).id();
        // what components/compose leaves: its image.json has no offering and no digests of its own
        Path dir = Files.createDirectories(images.resolve(id));
        Files.copy(repo.blobPath(repo.sha("os/tiny/1.0", "kernel")), dir.resolve("kernel"));
        Files.write(dir.resolve("initrd"), new byte[] {1, 2, 3});
        Files.writeString(dir.resolve("image.json"), "{\"key\":\"" + id + "\",\"components\":[\"os/tiny/1.0\"],"
                + "\"layers\":[],\"cmdline\":\"console=ttyS0\",\"disk\":false,\"minMemoryMiB\":128,\"services\":[]}");
        ImageCache restarted = cache();
        ImageStatus found = restarted.status(id).orElseThrow();
        assertNull(found.offering(), "not known until asked for");
        ImageRef used = obtain(restarted, SITE);
        assertEquals(id, used.id());
        assertEquals(SITE, used.offering());
        assertEquals(128, used.minMemoryMiB(), "read from its image.json");
        assertEquals(0, restarted.builds.get());
        assertEquals(SITE, restarted.status(id).orElseThrow().offering());
    }

    @Test
    void whatACrashLeftIsRemovedAndAHalfImageIsNeverTakenForWhole() throws Exception {
        ImageCache first = cache();
        String id = plan(first, SITE).id();
        Path leftover = Files.createDirectories(images.resolve(".tmp-" + id + "-0123"));
        Files.write(leftover.resolve("initrd"), new byte[100]);
        Path evicting = Files.createDirectories(images.resolve(".evicting-abc"));
        Files.write(evicting.resolve("initrd"), new byte[100]);
        // the image's own name, but no image.json: never renamed into place by a build of ours
        Path half = Files.createDirectories(images.resolve(id));
        Files.write(half.resolve("initrd"), new byte[10]);

        ImageCache restarted = cache();
        assertFalse(Files.exists(leftover));
        assertFalse(Files.exists(evicting));
        assertTrue(restarted.status(id).isEmpty(), "a half image is not listed");
        ImageRef image = obtain(restarted, SITE);
        assertEquals(1, restarted.builds.get(), "built, not taken from the half directory");
        assertTrue(ImageBuilder.whole(images.resolve(id), id));
        assertTrue(Files.size(image.artifact(Artifact.Kind.INITRD).orElseThrow().file()) > 10);
        try (Stream<Path> left = Files.list(images)) {
            assertEquals(List.of(images.resolve(id)), left.toList());
        }
    }

    @Test
    void anImageDeletedFromDiskIsBuiltAgain() throws Exception {
        ImageCache cache = cache();
        ImageRef image = obtain(cache, SITE);
        ImageBuilder.deleteTree(images.resolve(image.id()));
        assertEquals(image.id(), obtain(cache, SITE).id());
        assertEquals(2, cache.builds.get());
        assertTrue(ImageBuilder.whole(images.resolve(image.id()), image.id()));
    }

    // ---- compositions only -----------------------------------------------------------------

    @Test
    void withoutARepositoryEveryImageIsACompositionThatSaysWhy() throws Exception {
        ImageCache cache = cache();
        RepositoryDirectory none = new RepositoryDirectory(null);
        ImageCache.Plan plan = cache.plan(none.current(), WIKI, port(WIKI, 80));
        ImageCache.CompositionOnly only = assertInstanceOf(ImageCache.CompositionOnly.class, plan);
        assertTrue(only.id().startsWith("img-"), only.id());
        ImageRef image = cache.obtain(plan, WIKI, port(WIKI, 80));
        assertTrue(image.compositionOnly());
        assertEquals(0, image.sizeBytes());
        assertTrue(image.reason().contains("no component repository is configured"), image.reason());
        assertEquals(0, cache.builds.get());
        assertFalse(Files.exists(images), "nothing written");

        RepositoryDirectory missing = new RepositoryDirectory(tmp.resolve("nowhere"));
        assertTrue(missing.current().problem().contains("has no index.json"), missing.current().problem());
    }

    @Test
    void aCombinationTheRepositoryLacksIsACompositionNamingWhatIsMissing() throws Exception {
        ImageCache cache = cache();
        Offering windows = offering("site", "1.0", "windows-2022", "web-1.2", "none");
        ImageRef image = obtain(cache, windows);
        assertTrue(image.compositionOnly());
        assertEquals("no operating system component 'windows-2022'", image.reason());
        ImageStatus status = cache.status(image.id()).orElseThrow();
        assertEquals(State.READY, status.state());
        assertEquals(image.reason(), status.detail());

        ImageRef patchless = obtain(cache, offering("site", "1.0", "tiny-1", "web-1.2", "none", "fix-2"));
        assertEquals("no patch component 'fix-2'", patchless.reason());
    }

    // ---- the budget ------------------------------------------------------------------------

    @Test
    void aSmallBudgetEvictsWhatIsNotInUseAndKeepsWhatIs() throws Exception {
        ImageCache measure = cache(1L << 40, Duration.ZERO, pool, lru);
        long site = obtain(measure, SITE).sizeBytes();
        long wiki = obtain(measure, WIKI).sizeBytes();
        long siteOnDisky = obtain(measure, SITE_ON_DISKY).sizeBytes();
        assertTrue(siteOnDisky <= wiki, "the third fits where the second was");
        for (String id : List.of(plan(measure, SITE).id(), plan(measure, WIKI).id(), plan(measure, SITE_ON_DISKY).id())) {
            ImageBuilder.deleteTree(images.resolve(id));
        }

        ImageCache cache = cache(site + wiki, Duration.ZERO, pool, lru);
        ImageRef inUse = obtain(cache, SITE);
        clock.advance(Duration.ofMinutes(1));
        ImageRef idle = obtain(cache, WIKI);
        live.put(inUse.id(), 1); // a VM runs from it: the least recently used, but it must stay
        clock.advance(Duration.ofMinutes(1));

        ImageRef third = obtain(cache, SITE_ON_DISKY);
        assertTrue(cache.status(idle.id()).isEmpty(), "the idle image was evicted");
        assertFalse(Files.exists(images.resolve(idle.id())));
        assertTrue(Files.isDirectory(images.resolve(inUse.id())), "the image in use stays");
        assertEquals(1, cache.status(inUse.id()).orElseThrow().inUse());
        assertTrue(cache.used() <= site + wiki);
        for (String id : List.of("os/tiny/1.0", "lib/libc/9", "server/web/1.2-1", "runtime/php/8.1-3", "app/wiki/2.1")) {
            assertTrue(Files.exists(repo.blobPath(repo.sha(id, "initrd-layer"))), "blob of " + id + " kept");
        }
        assertTrue(Files.exists(repo.blobPath(repo.sha("os/tiny/1.0", "kernel"))), "the kernel blob is kept");

        live.put(third.id(), 1);
        ImageException full = assertThrows(ImageException.class, () -> obtain(cache, WIKI_ON_DISKY));
        assertTrue(full.getMessage().contains("budget of") && full.getMessage().contains("nothing can be evicted"),
                full.getMessage());
        assertEquals(State.FAILED, cache.status(plan(cache, WIKI_ON_DISKY).id()).orElseThrow().state());
        assertTrue(Files.isDirectory(images.resolve(inUse.id())));
        assertTrue(Files.isDirectory(images.resolve(third.id())));
    }

    @Test
    void whenEvictingAllThatMayGoWouldNotMakeRoomNothingIsEvicted() throws Exception {
        ImageCache measure = cache();
        long wiki = obtain(measure, WIKI).sizeBytes();
        long small = obtain(measure, SITE_ON_DISKY).sizeBytes();
        long large = obtain(measure, WIKI_ON_DISKY).sizeBytes();
        assertTrue(large > small);
        for (Offering o : List.of(WIKI, SITE_ON_DISKY, WIKI_ON_DISKY)) {
            ImageBuilder.deleteTree(images.resolve(plan(measure, o).id()));
        }

        ImageCache cache = cache(wiki + small, Duration.ZERO, pool, lru);
        live.put(obtain(cache, WIKI).id(), 1);
        ImageRef idle = obtain(cache, SITE_ON_DISKY);
        ImageException failure = assertThrows(ImageException.class, () -> obtain(cache, WIKI_ON_DISKY));
        assertTrue(failure.getMessage().contains("would not make room, so none is evicted"), failure.getMessage());
        assertEquals(State.READY, cache.status(idle.id()).orElseThrow().state(), "the idle image was not evicted");
        assertTrue(Files.isDirectory(images.resolve(idle.id())));
    }

    @Test
    void anImageJustHandedOutForANewVmIsKeptForTheGracePeriod() throws Exception {
        ImageCache measure = cache();
        long site = obtain(measure, SITE).sizeBytes();
        ImageBuilder.deleteTree(images.resolve(plan(measure, SITE).id()));

        ImageCache cache = cache(site, Duration.ofMinutes(5), pool, lru);
        ImageRef handedOut = obtain(cache, SITE); // its VM is not in the state table yet
        assertThrows(ImageException.class, () -> obtain(cache, SITE_ON_DISKY));
        assertTrue(Files.isDirectory(images.resolve(handedOut.id())));
        clock.advance(Duration.ofMinutes(6));
        obtain(cache, SITE_ON_DISKY);
        assertFalse(Files.exists(images.resolve(handedOut.id())), "evicted once the grace period is over");
    }

    @Test
    void withoutAnEvictionPolicyAFullCacheFailsTheBuildSayingWhy() throws Exception {
        ImageCache cache = cache(1, Duration.ZERO, pool, (c, now) -> Optional.empty());
        ImageException tooBig = assertThrows(ImageException.class, () -> obtain(cache, SITE));
        assertTrue(tooBig.getMessage().contains("more than the image cache's whole budget"), tooBig.getMessage());

        ImageCache measure = cache();
        long site = obtain(measure, SITE).sizeBytes();
        ImageCache noPolicy = cache(site + 1000, Duration.ZERO, pool, (c, now) -> Optional.empty());
        ImageException failure = assertThrows(ImageException.class, () -> obtain(noPolicy, SITE_ON_DISKY));
        assertTrue(failure.getMessage().contains("no image eviction policy is in force"), failure.getMessage());
    }

    @Test
    void evictionCandidatesCarryUseSizeAndRebuildCost() throws Exception {
        List<EvictionCandidate> seen = new ArrayList<>();
        ImageCache measure = cache();
        long site = obtain(measure, SITE).sizeBytes();
        ImageCache cache = cache(site, Duration.ZERO, pool, (candidates, now) -> {
            seen.addAll(candidates);
            return Optional.of(candidates);
        });
        ImageRef first = obtain(cache, SITE);
        obtain(cache, SITE);
        clock.advance(Duration.ofSeconds(30));
        obtain(cache, SITE_ON_DISKY);
        EvictionCandidate candidate = seen.get(0);
        assertEquals(first.id(), candidate.id());
        assertEquals(2, candidate.uses(), "two obtains here (uses are counted per run, not kept on disk)");
        assertEquals(site, candidate.sizeBytes());
        assertTrue(candidate.rebuildCost().toNanos() > 0);
        assertEquals(Instant.parse("2026-01-01T00:00:00Z"), candidate.lastUsedAt());
    }

    // ---- the repository --------------------------------------------------------------------

    @Test
    void aChangedIndexIsReadAgainAndABrokenOneLeavesThePreviousInForce() throws Exception {
        RepositoryDirectory directory = new RepositoryDirectory(repo.root);
        Repository first = directory.current().repository();
        assertEquals(8, first.components().size());
        assertTrue(first == directory.current().repository(), "unchanged: not read again");

        repo.add("app", "blog", "1.0", List.of("app:blog"), List.of(), List.of(repo.layer("blog", 10)),
                Map.of("app", Map.of("type", "static", "root", "/srv/sf/apps/blog-1.0"))).write();
        assertEquals(9, directory.current().repository().components().size());

        repo.writeIndex("{\"schema\":\"servicefarm.repository/1\",\"components\":[{\"schema\":\"nope\"}]}");
        RepositoryDirectory.State state = directory.current();
        assertEquals(9, state.repository().components().size(), "the previous index stays in force");

        RepositoryDirectory fresh = new RepositoryDirectory(repo.root);
        assertNull(fresh.current().repository());
        assertTrue(fresh.current().problem().contains("schema must be servicefarm.component/1"),
                fresh.current().problem());
    }

    @Test
    void evictingAnImageOnlyEverDeletesInsideTheImageDirectory() throws IOException {
        assertTrue(ImageCache.REAL_ID.matcher("0123456789abcdef01234567").matches());
        assertFalse(ImageCache.REAL_ID.matcher("../../etc").matches());
        assertFalse(ImageCache.REAL_ID.matcher("img-0123456789abcdef").matches());
    }

    // ---- checkpoints -----------------------------------------------------------------------

    /** A checkpoint host qemu-1 made of {@code built}. */
    private HostCheckpoint checkpointOnQemu1(ImageRef built) {
        return new HostCheckpoint("cp-" + built.id(), "qemu-1", built.id(), tmp.resolve("manifest.json"),
                "a".repeat(64), 77 * MIB, clock.instant(), "QEMU 7.2.22");
    }

    @Test
    void aCheckpointIsRecordedAsAnImageOfItsSourceOnItsHostAndGoesWithIt() throws Exception {
        ImageCache cache = cache();
        ImageRef built = obtain(cache, WIKI);
        HostCheckpoint made = checkpointOnQemu1(built);
        assertEquals(Optional.empty(), cache.checkpoint(built.id(), "qemu-1"));

        ImageRef checkpoint = cache.recordCheckpoint(made).orElseThrow();
        assertEquals(ImageRef.Kind.CHECKPOINT, checkpoint.kind());
        assertEquals(WIKI, checkpoint.offering());
        assertEquals(made.manifest(), checkpoint.artifact(Artifact.Kind.CHECKPOINT).orElseThrow().file());
        assertEquals(built.artifact(Artifact.Kind.KERNEL), checkpoint.artifact(Artifact.Kind.KERNEL));
        assertEquals(Optional.of(checkpoint), cache.checkpoint(built.id(), "qemu-1"));
        assertEquals(Optional.empty(), cache.checkpoint(built.id(), "qemu-2"), "a checkpoint is its host's only");
        assertEquals(built, cache.find(WIKI).orElseThrow(), "a new VM elsewhere boots the built image");
        ImageStatus status = cache.status(checkpoint.id()).orElseThrow();
        assertEquals(ImageRef.Kind.CHECKPOINT, status.kind());
        assertEquals(1, status.uses());
        assertTrue(status.detail().contains("on host qemu-1"), status.detail());
        assertEquals(0, cache.used() - built.sizeBytes(), "it takes nothing of the cache's budget");

        // no checkpoint of an image the cache does not hold
        assertEquals(Optional.empty(), cache.recordCheckpoint(new HostCheckpoint("cp-x", "qemu-1", "0".repeat(24),
                tmp.resolve("m.json"), "b".repeat(64), 1, clock.instant(), "")));
        cache.forgetCheckpoint(built.id(), "qemu-1");
        assertEquals(Optional.empty(), cache.checkpoint(built.id(), "qemu-1"));
    }

    // ---- the catalog in the store ---------------------------------------------------------

    @Test
    void aRestartTakesOnEachImagesUseFromTheCatalogSoEvictionRanksAsBefore() throws Exception {
        Instant start = clock.instant();
        ImageCache before = cache();
        ImageRef site = obtain(before, SITE);
        clock.advance(Duration.ofMinutes(1));
        ImageRef wiki = obtain(before, WIKI);
        obtain(before, WIKI);
        ImageRef gone = obtain(before, SITE_ON_DISKY);
        clock.advance(Duration.ofMinutes(1));
        obtain(before, SITE); // the most recently used now
        List<ImageCatalog.Entry> kept = before.catalog();
        assertEquals(3, kept.size());
        ImageBuilder.deleteTree(images.resolve(gone.id()));

        ImageCache after = cache(); // a restart: the images on disk found again, what they were used for unknown
        assertNull(after.status(site.id()).orElseThrow().lastUsedAt());
        assertEquals(0, after.status(wiki.id()).orElseThrow().uses());
        after.restore(kept);
        ImageStatus siteNow = after.status(site.id()).orElseThrow();
        assertEquals(2, siteNow.uses());
        assertEquals(clock.instant(), siteNow.lastUsedAt());
        assertEquals(start, siteNow.createdAt(), "made when it was built, not when found on disk");
        ImageStatus wikiNow = after.status(wiki.id()).orElseThrow();
        assertEquals(2, wikiNow.uses());
        assertTrue(wikiNow.lastUsedAt().isBefore(siteNow.lastUsedAt()), "the least recently used goes first, as before");
        assertTrue(after.status(gone.id()).isEmpty());
        assertEquals(java.util.Set.of(site.id(), wiki.id()),
                after.catalog().stream().map(ImageCatalog.Entry::id).collect(java.util.stream.Collectors.toSet()),
                "an image whose files are gone is gone from the catalog");

        obtain(after, WIKI);
        assertEquals(3, after.status(wiki.id()).orElseThrow().uses(), "the uses since the start are added");
    }

    @Test
    void compositionsAndCheckpointsTakeTheirKeptUseWhenTheyComeBackAndStayInTheCatalogMeanwhile() throws Exception {
        ImageCache before = cache();
        ImageRef built = obtain(before, WIKI);
        HostCheckpoint made = checkpointOnQemu1(built);
        String checkpointId = before.recordCheckpoint(made).orElseThrow().id();
        before.checkpoint(built.id(), "qemu-1");
        before.checkpoint(built.id(), "qemu-1");
        ImageCache.Plan composition = before.plan(new RepositoryDirectory(null).current(), SITE, port(SITE, 80));
        String compositionId = before.obtain(composition, SITE, port(SITE, 80)).id();
        List<ImageCatalog.Entry> kept = before.catalog();
        assertEquals(3, kept.size());

        ImageCache after = cache();
        after.restore(kept);
        assertTrue(after.status(checkpointId).isEmpty(), "listed once its host says it holds it");
        assertEquals(3, after.catalog().size(), "awaited, kept in the catalog");

        ImageRef again = after.recordCheckpoint(made).orElseThrow();
        assertEquals(2, after.status(checkpointId).orElseThrow().uses());
        assertEquals(again, after.recordCheckpoint(made).orElseThrow(), "recorded again: the same, its use goes on");
        assertEquals(2, after.status(checkpointId).orElseThrow().uses());
        after.obtain(composition, SITE, port(SITE, 80));
        assertEquals(2, after.status(compositionId).orElseThrow().uses());

        after.forgetCheckpoint(built.id(), "qemu-1");
        assertEquals(2, after.catalog().size());
        ImageCache later = cache();
        later.restore(kept);
        later.forgetCheckpoint(built.id(), "qemu-1");
        assertFalse(later.catalog().stream().anyMatch(e -> e.id().equals(checkpointId)),
                "an awaited checkpoint forgotten is gone from the catalog");
    }
}
