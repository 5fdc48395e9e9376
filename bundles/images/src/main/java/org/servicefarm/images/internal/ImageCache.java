package org.servicefarm.images.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.Names;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageException;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStatus.Progress;
import org.servicefarm.api.image.ImageStatus.State;
import org.servicefarm.api.store.ImageCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image cache: which image an offering gets, its one build however many callers want it, the
 * images on disk, and the size budget.
 * <ul>
 * <li>An image is content-addressed: its id is the first 24 hex digits of the sha256 of its kernel's,
 * disk's (an empty line without one) and initrd layers' digests and the generated layer's, one per line,
 * as {@code components/compose} computes its key; the id names its directory.</li>
 * <li>An offering the repository cannot build (or every offering, without a repository) gets a
 * composition-only image at once: no files, a reason, an id {@code img-<16 hex>} of its composition.</li>
 * <li>One entry per id: concurrent callers wait for the same build; a FAILED one is built again by the
 * next caller. An image directory already on disk (built before, by another appliance, or by
 * {@code components/compose}) is used instead of building.</li>
 * <li>Before a build the budget is checked, counting what ready images take and what builds under way
 * will take; when it would be exceeded the eviction policy in force ranks the images that may go (ready,
 * not in use by a live VM, not being built, not handed out within the grace period) and they are deleted
 * from the front until the build fits, or the build fails saying why. Hard links to repository blobs are
 * removed with an image, never the blobs.</li>
 * </ul>
 */
final class ImageCache {

    private static final Logger LOG = LoggerFactory.getLogger(ImageCache.class);
    /** The name of a real image's directory: its id. */
    static final Pattern REAL_ID = Pattern.compile("[0-9a-f]{24}");
    static final String EVICTING_PREFIX = ".evicting-";
    private static final long MIB = 1L << 20;

    /**
     * @param images      the directory that holds one sub-directory per image
     * @param budgetBytes the most the images may take together
     * @param grace       how long an image handed out for a new VM is kept although no VM runs from it yet
     */
    record Settings(Path images, long budgetBytes, boolean hardLinks, String hostname, Duration grace) {
    }

    /** The eviction policy in force, if any. */
    interface Ranker {
        /** The candidates ranked, first to go first; empty when no policy is in force. */
        Optional<List<EvictionCandidate>> rank(List<EvictionCandidate> candidates, Instant now);
    }

    /** Which image an offering gets now: a real one or a composition only. */
    sealed interface Plan permits Real, CompositionOnly {
        String id();
    }

    record Real(String id, Repository repository, Composition composition, byte[] generated) implements Plan {
    }

    record CompositionOnly(String id, String reason) implements Plan {
    }

    /** One image: its build and its use. Fields change under the cache's lock or through the build's progress. */
    static final class Entry {
        final String id;
        final ImageRef.Kind kind;
        final List<String> components;
        /** When built, found or recorded; the catalog's earlier time once restored from it. */
        volatile Instant createdAt;
        final CompletableFuture<ImageRef> done = new CompletableFuture<>();
        final AtomicLong uses = new AtomicLong();
        final AtomicInteger waiters = new AtomicInteger();
        volatile Offering offering;
        volatile State state;
        volatile long sizeBytes;
        volatile String detail;
        volatile ImageRef image;
        volatile Path dir;
        volatile Duration buildCost = Duration.ofSeconds(1);
        volatile Instant lastUsedAt;
        volatile Instant handedOutAt;
        volatile int step;
        volatile int steps;
        volatile String doing;
        final AtomicLong bytesDone = new AtomicLong();
        volatile long bytesTotal;
        /** For a CHECKPOINT: the image it was booted from, and the host that holds it; else {@code null}. */
        volatile String sourceId;
        volatile String host;

        Entry(String id, Offering offering, ImageRef.Kind kind, List<String> components, Instant createdAt) {
            this.id = id;
            this.offering = offering;
            this.kind = kind;
            this.components = List.copyOf(components);
            this.createdAt = createdAt;
        }

        Progress progress() {
            return state == State.BUILDING ? new Progress(step, steps, doing, bytesDone.get(), bytesTotal)
                    : state == State.READY ? (steps == 0 ? Progress.done(bytesTotal)
                    : new Progress(steps, steps, "done", bytesTotal, bytesTotal))
                    : new Progress(step, steps, "failed: " + doing,
                    bytesDone.get(), bytesTotal);
        }

        void ready(ImageRef ref) {
            image = ref;
            state = State.READY;
            done.complete(ref);
        }

        /** Takes on the use the catalog kept of this image before this start (its uses since then are added). */
        void restore(ImageCatalog.Entry kept) {
            uses.addAndGet(kept.uses());
            if (kept.lastUsedAt() != null && (lastUsedAt == null || kept.lastUsedAt().isAfter(lastUsedAt))) {
                lastUsedAt = kept.lastUsedAt();
            }
            if (kept.createdAt().isBefore(createdAt)) {
                createdAt = kept.createdAt();
            }
            if (kept.buildCost().compareTo(Duration.ZERO) > 0) {
                buildCost = kept.buildCost();
            }
            if (offering == null) {
                offering = kept.offering();
            }
        }

        /** This image as the catalog keeps it. */
        ImageCatalog.Entry catalogEntry() {
            return new ImageCatalog.Entry(id, kind, offering, sourceId, host, sizeBytes, createdAt, lastUsedAt,
                    uses.get(), buildCost);
        }
    }

    private final Clock clock;
    private final Executor executor;
    private final Supplier<Map<String, Integer>> inUse;
    private final Ranker ranker;
    private final VerifiedBlobs verified = new VerifiedBlobs();
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /**
     * What the catalog kept of images this start has not met yet: compositions (made again when next asked for) and
     * checkpoints (recorded again from their hosts). Applied to such an image when it comes, and kept in the catalog
     * meanwhile.
     */
    private final Map<String, ImageCatalog.Entry> awaited = new ConcurrentHashMap<>();
    /** Guards the budget: reservations, evictions, new entries. */
    private final Object lock = new Object();
    private volatile Settings settings;
    /** Builds started (not images found on disk or composition-only ones). */
    final AtomicInteger builds = new AtomicInteger();

    /**
     * @param inUse how many live VMs run from each image, by image id
     */
    ImageCache(Settings settings, Clock clock, Executor executor, Supplier<Map<String, Integer>> inUse, Ranker ranker) {
        this.settings = settings;
        this.clock = clock;
        this.executor = executor;
        this.inUse = inUse;
        this.ranker = ranker;
    }

    Settings settings() {
        return settings;
    }

    /** New settings; a new image directory is scanned and the images of the old one forgotten (not deleted). */
    void reconfigure(Settings newSettings) {
        Settings old = settings;
        settings = newSettings;
        if (!old.images().equals(newSettings.images())) {
            synchronized (lock) {
                entries.values().removeIf(e -> e.state != State.BUILDING && e.dir != null);
            }
            scan();
        }
    }

    // ---- planning --------------------------------------------------------------------------

    /** The image the offering gets now from the repository in {@code state}, with the reason when it cannot be real. */
    Plan plan(RepositoryDirectory.State state, Offering offering, List<VmSpec.GuestService> services) {
        if (state.repository() == null) {
            return compositionOnly(offering, services, state.problem());
        }
        Composition composition;
        try {
            composition = Resolver.resolve(state.repository(), offering, services);
        } catch (Resolver.Refusal refusal) {
            return compositionOnly(offering, services, refusal.getMessage());
        }
        byte[] generated = ServiceLayer.layer(composition, settings.hostname());
        return new Real(id(composition, generated), state.repository(), composition, generated);
    }

    /** The content address of a real image, as components/compose computes its key. */
    static String id(Composition composition, byte[] generated) {
        StringBuilder lines = new StringBuilder();
        lines.append(composition.kernel().sha256()).append('\n');
        lines.append(composition.disk() == null ? "" : composition.disk().sha256()).append('\n');
        composition.layers().forEach(layer -> lines.append(layer.sha256()).append('\n'));
        lines.append(ImageBuilder.sha256(generated)).append('\n');
        return ImageBuilder.sha256(lines.toString().getBytes(StandardCharsets.US_ASCII)).substring(0, 24);
    }

    private static CompositionOnly compositionOnly(Offering offering, List<VmSpec.GuestService> services,
                                                   String reason) {
        String text = CatalogLayers.of(offering) + " " + services;
        String hash = ImageBuilder.sha256(text.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
        return new CompositionOnly("img-" + hash, reason);
    }

    // ---- obtaining and building ------------------------------------------------------------

    /** The image of a plan, waiting for its one build; records the use. */
    ImageRef obtain(Plan plan, Offering offering, List<VmSpec.GuestService> services) throws ImageException {
        Entry entry = ensure(plan, offering, services, ImageRef.Kind.BUILT);
        entry.waiters.incrementAndGet();
        try {
            entry.handedOutAt = clock.instant();
            ImageRef image = entry.done.get();
            Instant now = clock.instant();
            entry.handedOutAt = now;
            entry.lastUsedAt = now;
            entry.uses.incrementAndGet();
            return image.offering() == null ? withOffering(entry, offering) : image;
        } catch (ExecutionException e) {
            throw new ImageException("image " + entry.id + " for " + offering.key() + " could not be built: "
                    + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted while image " + entry.id + " was being built");
        } finally {
            entry.waiters.decrementAndGet();
        }
    }

    /** Starts the plan's build unless its image is ready or being built; returns at once. */
    ImageStatus build(Plan plan, Offering offering, List<VmSpec.GuestService> services) {
        return status(ensure(plan, offering, services, ImageRef.Kind.PREBUILT), inUse.get());
    }

    private Entry ensure(Plan plan, Offering offering, List<VmSpec.GuestService> services, ImageRef.Kind kind) {
        synchronized (lock) {
            Entry existing = entries.get(plan.id());
            if (existing != null && existing.state == State.READY && existing.dir != null
                    && !Files.isDirectory(existing.dir, LinkOption.NOFOLLOW_LINKS)) {
                LOG.warn("Image {} is gone from {}: building it again", existing.id, existing.dir);
                entries.remove(existing.id, existing);
                existing = null;
            }
            if (existing != null && existing.state != State.FAILED) {
                if (existing.offering == null) {
                    existing.offering = offering;
                }
                return existing;
            }
            Instant now = clock.instant();
            Entry entry;
            if (plan instanceof CompositionOnly only) {
                entry = new Entry(only.id(), offering, kind, List.of(), now);
                entry.detail = only.reason();
                entry.ready(new ImageRef(only.id(), offering, kind, CatalogLayers.of(offering), List.of(), "", 0,
                        only.reason()));
                add(entry);
                return entry;
            }
            Real real = (Real) plan;
            Entry found = fromDisk(real.id(), offering);
            if (found != null) {
                LOG.info("Using image {} for {}: found on disk in {}", found.id, offering.key(), found.dir);
                entries.put(found.id, found);
                return found;
            }
            entry = new Entry(real.id(), offering, kind, real.composition().componentIds(), now);
            entry.state = State.BUILDING;
            entry.steps = 1 + ImageBuilder.steps(real.composition());
            entry.step = 0;
            entry.doing = "queued";
            entry.bytesTotal = real.composition().blobBytes() + real.generated().length;
            entry.sizeBytes = estimate(real.composition(), real.generated());
            entries.put(entry.id, entry);
            builds.incrementAndGet();
            Entry building = entry;
            try {
                executor.execute(() -> run(building, real));
            } catch (RuntimeException e) {
                fail(building, "the image cache is stopping");
            }
            return entry;
        }
    }

    /** What an image will take: its initrd, and kernel and disk unless they can be hard-linked. */
    private long estimate(Composition composition, byte[] generated) {
        long bytes = generated.length;
        for (RepositoryComponent.Blob layer : composition.layers()) {
            bytes += layer.size();
        }
        if (!settings.hardLinks()) {
            bytes += composition.kernel().size() + (composition.disk() == null ? 0 : composition.disk().size());
        }
        return bytes;
    }

    private void run(Entry entry, Real real) {
        long start = System.nanoTime();
        try {
            step(entry, "making room in the image cache");
            makeRoom(entry);
            Settings s = settings;
            ImageBuilder.Built built = new ImageBuilder(verified, s.hardLinks()).build(real.repository(),
                    real.composition(), real.generated(), entry.id, s.images(), entry.createdAt,
                    new ImageBuilder.Progress() {
                        @Override
                        public void step(String doing) {
                            ImageCache.step(entry, doing);
                        }

                        @Override
                        public void bytes(long done) {
                            entry.bytesDone.addAndGet(done);
                        }
                    });
            ImageRef ref = new ImageRef(entry.id, entry.offering, entry.kind, CatalogLayers.of(entry.offering),
                    built.artifacts(), real.composition().cmdline(), built.sizeBytes(), null,
                    real.composition().minMemoryMiB());
            synchronized (lock) {
                entry.dir = built.dir();
                entry.sizeBytes = built.sizeBytes();
                entry.buildCost = Duration.ofNanos(System.nanoTime() - start);
                entry.ready(ref);
            }
            LOG.info("Built image {} for {} in {} ms: {} MiB", entry.id, entry.offering.key(),
                    entry.buildCost.toMillis(), built.sizeBytes() / MIB);
        } catch (IOException | ImageException | RuntimeException | Error e) {
            LOG.warn("Building image {} for {} failed: {}", entry.id, entry.offering.key(), e.getMessage());
            fail(entry, e.getMessage());
        }
    }

    private static void step(Entry entry, String doing) {
        entry.doing = doing;
        entry.step = Math.min(entry.step + 1, entry.steps);
    }

    private void fail(Entry entry, String reason) {
        synchronized (lock) {
            entry.detail = reason;
            entry.sizeBytes = 0;
            entry.state = State.FAILED;
        }
        entry.done.completeExceptionally(new ImageException(reason));
    }

    private ImageRef withOffering(Entry entry, Offering offering) {
        ImageRef image = entry.image;
        ImageRef named = new ImageRef(image.id(), offering, image.kind(), CatalogLayers.of(offering), image.artifacts(),
                image.kernelArgs(), image.sizeBytes(), image.reason(), image.minMemoryMiB());
        entry.image = named;
        return named;
    }

    // ---- the budget ------------------------------------------------------------------------

    /** Evicts until what the images take, this build's reservation included, fits the budget. */
    private void makeRoom(Entry building) throws ImageException {
        synchronized (lock) {
            long budget = settings.budgetBytes();
            if (building.sizeBytes > budget) {
                throw new ImageException("the image needs " + mib(building.sizeBytes) + ", more than the image cache's "
                        + "whole budget of " + mib(budget));
            }
            while (used() > budget) {
                Instant now = clock.instant();
                Map<String, Integer> live = inUse.get();
                Map<String, Entry> evictable = new HashMap<>();
                long evictableBytes = 0;
                for (Entry e : entries.values()) {
                    if (evictable(e, live, now)) {
                        evictable.put(e.id, e);
                        evictableBytes += e.sizeBytes;
                    }
                }
                if (evictable.isEmpty() || used() - evictableBytes > budget) {
                    // not even evicting every image that may go would make room: evict none
                    long held = used() - building.sizeBytes - evictableBytes;
                    throw new ImageException("the image cache's budget of " + mib(budget) + " is spent: " + mib(held)
                            + " are held by images in use by VMs, being built or just handed out, and this image "
                            + "needs " + mib(building.sizeBytes) + (evictable.isEmpty() ? "; nothing can be evicted"
                            : "; evicting all " + evictable.size() + " images that may go (" + mib(evictableBytes)
                            + ") would not make room, so none is evicted"));
                }
                List<EvictionCandidate> candidates = evictable.values().stream().map(this::candidate).toList();
                Optional<List<EvictionCandidate>> ranked = ranker.rank(candidates, now);
                if (ranked.isEmpty()) {
                    throw new ImageException("the image cache's budget of " + mib(budget) + " is spent and no image "
                            + "eviction policy is in force (imagePolicy.target in org.servicefarm.eviction)");
                }
                Entry victim = ranked.get().stream().map(c -> evictable.get(c.id())).filter(e -> e != null)
                        .findFirst().orElseThrow(() -> new ImageException("the image cache's budget of " + mib(budget)
                                + " is spent and the eviction policy in force chose none of the "
                                + evictable.size() + " images that may go"));
                evict(victim, "to make room for image " + building.id);
            }
        }
    }

    private boolean evictable(Entry e, Map<String, Integer> live, Instant now) {
        return e.state == State.READY && e.dir != null && live.getOrDefault(e.id, 0) == 0 && e.waiters.get() == 0
                && (e.handedOutAt == null || !e.handedOutAt.plus(settings.grace()).isAfter(now));
    }

    private EvictionCandidate candidate(Entry e) {
        return new EvictionCandidate(e.id, e.createdAt, e.lastUsedAt, e.uses.get(), e.sizeBytes, e.buildCost);
    }

    /** What ready images take and builds under way will take. */
    long used() {
        long used = 0;
        for (Entry e : entries.values()) {
            if (e.state == State.BUILDING || (e.state == State.READY && e.dir != null)) {
                used += e.sizeBytes;
            }
        }
        return used;
    }

    /** Removes an image: out of the table, then its directory renamed aside and deleted (links only unlinked). */
    private void evict(Entry victim, String why) {
        entries.remove(victim.id, victim);
        // A checkpoint is of the image it was booted from: without that image it is forgotten too.
        entries.values().removeIf(e -> victim.id.equals(e.sourceId));
        awaited.values().removeIf(e -> victim.id.equals(e.sourceId()));
        Path dir = victim.dir;
        LOG.info("Evicting image {} ({}, {}) {}", victim.id, victim.offering == null ? "offering unknown"
                : victim.offering.key(), mib(victim.sizeBytes), why);
        if (dir == null || !REAL_ID.matcher(dir.getFileName().toString()).matches()
                || !settings.images().equals(dir.getParent())) {
            return;
        }
        Path aside = dir.resolveSibling(EVICTING_PREFIX + victim.id + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            ImageBuilder.deleteTree(aside);
        } catch (IOException e) {
            LOG.warn("Deleting evicted image {} failed (the next start removes it): {}", victim.id, e.getMessage());
        }
    }

    // ---- images on disk --------------------------------------------------------------------

    /** Removes what a crash left (temporary and half-evicted directories), then lists the images on disk as PREBUILT. */
    void scan() {
        Path images = settings.images();
        if (!Files.isDirectory(images, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> children = Files.newDirectoryStream(images)) {
            for (Path child : children) {
                String name = child.getFileName().toString();
                if (name.startsWith(ImageBuilder.TMP_PREFIX) || name.startsWith(EVICTING_PREFIX)) {
                    LOG.info("Removing {}, left by an interrupted build or eviction", child);
                    ImageBuilder.deleteQuietly(child);
                } else if (REAL_ID.matcher(name).matches()) {
                    synchronized (lock) {
                        if (!entries.containsKey(name)) {
                            Entry found = fromDisk(name, null);
                            if (found != null) {
                                entries.put(name, found);
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("Cannot list the image directory {}: {}", images, e.getMessage());
        }
    }

    /**
     * The image directory {@code <images>/<id>} as a ready PREBUILT entry, when it is whole: a directory
     * (not a link) holding an image.json whose key is its name, a kernel and an initrd, and a disk when
     * image.json says so. Null otherwise.
     */
    private Entry fromDisk(String id, Offering offering) {
        Path dir = settings.images().resolve(id);
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            ImageJson json = ImageJson.read(dir.resolve(ImageJson.FILE));
            if (json == null || !id.equals(json.key())) {
                LOG.warn("Ignoring {}: its image.json does not name it", dir);
                return null;
            }
            Offering known = offering;
            if (known == null && json.offering() != null) {
                try {
                    known = json.offering().toOffering();
                } catch (RuntimeException e) {
                    LOG.warn("Ignoring the offering in {}: {}", dir, Names.excerpt(e.getMessage(), 200));
                }
            }
            List<Artifact> artifacts = new ArrayList<>();
            long size = file(dir, ImageBuilder.KERNEL, Artifact.Kind.KERNEL, json.kernelSha256(), artifacts);
            if (Boolean.TRUE.equals(json.disk())) {
                size += file(dir, ImageBuilder.DISK, Artifact.Kind.DISK, json.diskSha256(), artifacts);
            }
            size += file(dir, ImageBuilder.INITRD, Artifact.Kind.INITRD, json.initrdSha256(), artifacts);
            Instant created = Files.getLastModifiedTime(dir).toInstant();
            Entry entry = new Entry(id, known, ImageRef.Kind.PREBUILT,
                    json.components() == null ? List.of() : json.components(), created);
            entry.dir = dir;
            entry.sizeBytes = size;
            entry.bytesTotal = size;
            if (json.buildMillis() != null && json.buildMillis() > 0) {
                entry.buildCost = Duration.ofMillis(json.buildMillis());
            }
            List<CatalogComponent> layers = known == null ? List.of() : CatalogLayers.of(known);
            entry.ready(new ImageRef(id, known, ImageRef.Kind.PREBUILT, layers, artifacts, json.cmdline(), size, null,
                    json.minMemoryMiB() == null || json.minMemoryMiB() < 0 ? 0 : json.minMemoryMiB()));
            return entry;
        } catch (IOException | RuntimeException e) {
            LOG.warn("Ignoring image directory {}: {}", dir, Names.excerpt(e.getMessage(), 200));
            return null;
        }
    }

    /**
     * A file of an image on disk: its size in the store (0 when hard-linked elsewhere); it must be a regular file.
     * Its digest is image.json's, or computed when image.json has none (an image composed by components/compose).
     */
    private static long file(Path dir, String name, Artifact.Kind kind, String sha256,
                             List<Artifact> artifacts) throws IOException {
        Path file = dir.resolve(name);
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            throw new IOException(file + " is not a regular file");
        }
        String digest = sha256;
        if (digest == null || !Manifests.SHA256.matcher(digest).matches()) {
            LOG.info("Hashing {}: its image.json gives no digest", file);
            digest = VerifiedBlobs.sha256(file);
        }
        artifacts.add(new Artifact(kind, file, digest, attributes.size()));
        Object links = Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        return links instanceof Integer n && n > 1 ? 0 : attributes.size();
    }

    // ---- views -----------------------------------------------------------------------------

    Optional<ImageRef> find(Offering offering) {
        return entries.values().stream()
                .filter(e -> e.state == State.READY && e.kind != ImageRef.Kind.CHECKPOINT && offering.equals(e.offering))
                .max(Comparator.comparing((Entry e) -> e.dir != null).thenComparing(e -> e.createdAt))
                .map(e -> e.image.offering() == null ? withOffering(e, offering) : e.image);
    }

    List<ImageRef> images() {
        return entries.values().stream().filter(e -> e.state == State.READY).map(e -> e.image).toList();
    }

    List<ImageStatus> statuses() {
        Map<String, Integer> live = inUse.get();
        return entries.values().stream().sorted(Comparator.comparing((Entry e) -> e.createdAt).thenComparing(e -> e.id))
                .map(e -> status(e, live)).toList();
    }

    Optional<ImageStatus> status(String id) {
        Entry entry = id == null ? null : entries.get(id);
        return entry == null ? Optional.empty() : Optional.of(status(entry, inUse.get()));
    }

    private static ImageStatus status(Entry e, Map<String, Integer> live) {
        return new ImageStatus(e.id, e.offering, e.kind, e.state, e.progress(), e.sizeBytes, e.components,
                e.createdAt, e.lastUsedAt, e.uses.get(), live.getOrDefault(e.id, 0), e.detail,
                e.state == State.READY ? e.image : null);
    }

    // ---- checkpoints --------------------------------------------------------------------------

    /** The id of the checkpoint of image {@code imageId} on {@code host}. */
    static String checkpointId(String imageId, String host) {
        return "cp-" + imageId + "@" + host;
    }

    /**
     * Records a checkpoint a host made of a READY image of this cache, as an image of kind CHECKPOINT: the image's
     * layers and files, and a CHECKPOINT artifact naming the checkpoint's manifest on the host. It takes nothing of
     * the cache's budget (it lives on the host), and goes when its image goes.
     */
    Optional<ImageRef> recordCheckpoint(HostCheckpoint checkpoint) {
        synchronized (lock) {
            Entry source = entries.get(checkpoint.imageId());
            if (source == null || source.state != State.READY || source.image == null || source.image.compositionOnly()) {
                return Optional.empty();
            }
            ImageRef built = source.image;
            String id = checkpointId(built.id(), checkpoint.host());
            Entry recorded = entries.get(id);
            if (recorded != null && recorded.image != null && recorded.image.artifacts().stream()
                    .anyMatch(a -> a.kind() == Artifact.Kind.CHECKPOINT && a.sha256().equals(checkpoint.sha256()))) {
                return Optional.of(recorded.image); // recorded already: its use goes on
            }
            List<Artifact> artifacts = new ArrayList<>(built.artifacts());
            artifacts.add(new Artifact(Artifact.Kind.CHECKPOINT, checkpoint.manifest(), checkpoint.sha256(),
                    checkpoint.sizeBytes()));
            ImageRef image = new ImageRef(id, source.offering, ImageRef.Kind.CHECKPOINT, built.layers(), artifacts,
                    built.kernelArgs(), checkpoint.sizeBytes(), null, built.minMemoryMiB());
            Entry entry = new Entry(id, source.offering, ImageRef.Kind.CHECKPOINT, source.components,
                    checkpoint.createdAt());
            entry.sourceId = built.id();
            entry.host = checkpoint.host();
            entry.sizeBytes = checkpoint.sizeBytes();
            entry.bytesTotal = checkpoint.sizeBytes();
            entry.detail = "checkpoint of image " + built.id() + " on host " + checkpoint.host() + " ("
                    + checkpoint.id() + "): " + checkpoint.detail();
            entry.ready(image);
            add(entry);
            LOG.info("Recorded {}", entry.detail);
            return Optional.of(image);
        }
    }

    /** The checkpoint of image {@code imageId} on {@code host}, if recorded; counts a use. */
    Optional<ImageRef> checkpoint(String imageId, String host) {
        Entry entry = entries.get(checkpointId(imageId, host));
        if (entry == null || entry.state != State.READY) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        entry.lastUsedAt = now;
        entry.uses.incrementAndGet();
        return Optional.of(entry.image);
    }

    void forgetCheckpoint(String imageId, String host) {
        awaited.remove(checkpointId(imageId, host));
        Entry gone = entries.remove(checkpointId(imageId, host));
        if (gone != null) {
            LOG.info("Forgot the checkpoint of image {} on host {}", imageId, host);
        }
    }

    // ---- the catalog in the store -------------------------------------------------------------

    /** Adds a new entry (under the lock), with the use the catalog kept of it if it was awaited. */
    private void add(Entry entry) {
        ImageCatalog.Entry kept = awaited.remove(entry.id);
        if (kept != null) {
            entry.restore(kept);
        }
        entries.put(entry.id, entry);
    }

    /**
     * Takes on the use the catalog kept before this start: of the images found on disk now at once, of compositions
     * and checkpoints when they come; an image with files that are no longer on disk is gone, and so is its record.
     */
    void restore(Collection<ImageCatalog.Entry> kept) {
        int restored = 0;
        synchronized (lock) {
            for (ImageCatalog.Entry row : kept) {
                Entry entry = entries.get(row.id());
                // a BUILT image found on disk again is PREBUILT now: only a checkpoint's kind must match
                if (entry != null && (entry.kind == ImageRef.Kind.CHECKPOINT) == (row.kind() == ImageRef.Kind.CHECKPOINT)) {
                    entry.restore(row);
                    restored++;
                } else if (row.kind() == ImageRef.Kind.CHECKPOINT
                        ? entries.containsKey(row.sourceId()) : !REAL_ID.matcher(row.id()).matches()) {
                    awaited.put(row.id(), row);
                }
            }
        }
        LOG.info("Image catalog: the use of {} image(s) restored, {} awaited (compositions, checkpoints), of {} kept",
                restored, awaited.size(), kept.size());
    }

    /** The catalog as it is now: the ready images, and those the catalog kept that this start has not met yet. */
    List<ImageCatalog.Entry> catalog() {
        List<ImageCatalog.Entry> catalog = new ArrayList<>(awaited.values());
        for (Entry e : entries.values()) {
            if (e.state == State.READY) {
                catalog.add(e.catalogEntry());
            }
        }
        return catalog;
    }

    /** Fails the builds that wait (the executor is being shut down). */
    void close() {
        for (Entry e : entries.values()) {
            if (e.state == State.BUILDING) {
                e.done.completeExceptionally(new ImageException("the image store is stopping"));
            }
        }
    }

    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
    }
}
