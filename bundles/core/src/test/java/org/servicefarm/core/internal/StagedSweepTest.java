package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.testing.ListedLeadership;

/**
 * What hosts hold staged follows the image store: content no image of the store needs is unstaged at the second
 * sweep that finds it so, on every connected host, unless a guest uses it; a store listing nothing with artifacts, or
 * another store put in force meanwhile, deletes nothing.
 */
class StagedSweepTest {

    private final Farm farm = new Farm(Map.of());
    private final StagedSweep sweep = new StagedSweep();

    /** A store whose images are the test's to set (its eviction is the test's too). */
    private static final class Store implements ImageStore {
        volatile List<ImageRef> images = List.of();
        /** When a VM was last made from an image, by id; never when absent. */
        final Map<String, Instant> lastUsed = new java.util.concurrent.ConcurrentHashMap<>();
        /** The checkpoints held: "image/host". */
        final Set<String> checkpoints = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public Optional<ImageRef> find(Offering offering) {
            return Optional.empty();
        }

        @Override
        public ImageRef obtain(Offering offering) {
            throw new UnsupportedOperationException("the sweep obtains nothing");
        }

        @Override
        public List<ImageRef> images() {
            return images;
        }

        @Override
        public List<ImageStatus> statuses() {
            return images.stream().map(image -> new ImageStatus(image.id(), null, image.kind(),
                    ImageStatus.State.READY, ImageStatus.Progress.done(image.sizeBytes()), image.sizeBytes(), List.of(),
                    EPOCH, lastUsed.get(image.id()), 1, 0, null, image)).toList();
        }

        @Override
        public Optional<ImageRef> checkpoint(String imageId, String host) {
            return checkpoints.contains(imageId + "/" + host)
                    ? images.stream().filter(image -> image.id().equals(imageId)).findFirst() : Optional.empty();
        }
    }

    private static final Instant EPOCH = Instant.parse("2026-11-28T00:00:00Z");

    private final Store store = new Store();

    StagedSweepTest() {
        sweep.hosts = farm.hosts;
        sweep.imageStore = store;
        sweep.events = farm.table.events;
        sweep.table = farm.table;
        sweep.eviction = farm.eviction;
        farm.eviction.bindStagedPolicy(Farm.leastRecentlyUsed());
        // sweeping by itself once a day: the tests sweep when they say, but one of them
        sweep.activate(Farm.convert(Map.of("staged.sweepSeconds", 86_400), StagedSweep.Config.class), null);
    }

    @AfterEach
    void stop() {
        sweep.deactivate();
        farm.close();
    }

    private static String sha(char digit) {
        return String.valueOf(digit).repeat(64);
    }

    /** An image whose artifacts have the given contents, each of 1 MiB per digit. */
    private static ImageRef image(String id, char kernel, char disk) {
        return new ImageRef(id, null, ImageRef.Kind.BUILT, List.of(), List.of(
                new Artifact(Artifact.Kind.KERNEL, Path.of("/store/" + id + "/kernel"), sha(kernel), (kernel - '0') << 20),
                new Artifact(Artifact.Kind.DISK, Path.of("/store/" + id + "/disk"), sha(disk), (disk - '0') << 20)),
                "", 0);
    }

    private void stage(String host, ImageRef image) throws HypervisorException {
        farm.hosts.connection(host).stage(image);
    }

    private Set<String> staged(String host) {
        return new TreeSet<>(farm.hypervisor.stagedByHost.getOrDefault(host, Map.of()).keySet());
    }

    @Test
    void anEvictedImagesContentLeavesEveryHostAtTheSecondSweepAndSharedContentStays() throws Exception {
        ImageRef wiki = image("wiki", '1', '2');
        ImageRef blog = image("blog", '1', '3'); // the same kernel as wiki
        store.images = List.of(wiki, blog);
        stage("small", wiki);
        stage("large", wiki);
        stage("large", blog);
        assertEquals(0, sweep.sweep(), "every staged content is needed");

        store.images = List.of(blog); // wiki evicted
        assertEquals(0, sweep.sweep(), "one sweep is not enough: the store may be being replaced");
        assertEquals(Set.of(sha('1'), sha('2')), staged("small"));

        List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        farm.table.events.addListener(new org.servicefarm.api.FarmListener() {
            @Override
            public void unstaged(String host, String label, long bytes) {
                told.add(host + " " + label + " " + bytes);
            }
        });
        assertEquals(2 * (2L << 20), sweep.sweep(), "wiki's disk on both hosts, 2 MiB each");
        assertEquals(List.of("large volume " + sha('2') + " 2097152", "small volume " + sha('2') + " 2097152"),
                told.stream().sorted().toList(), "each deletion told (the metrics count them)");
        assertEquals(Set.of(sha('1')), staged("small"), "the kernel stays: blog needs it");
        assertEquals(Set.of(sha('1'), sha('3')), staged("large"));
        assertEquals(0, sweep.sweep());
    }

    @Test
    void whatAGuestUsesStaysUntilItIsFreedAndContentFoundNeededAgainIsKept() throws Exception {
        ImageRef wiki = image("wiki", '1', '2');
        ImageRef blog = image("blog", '4', '3');
        store.images = List.of(wiki, blog);
        stage("small", wiki);
        stage("small", blog);
        farm.hypervisor.stagedInUse.add("small/" + sha('2')); // a guest of another farm sharing the host, say
        store.images = List.of(image("other", '5', '6'));
        sweep.sweep();
        assertEquals((1L << 20) + (4L << 20) + (3L << 20), sweep.sweep(), "all but the disk a guest uses");
        assertEquals(Set.of(sha('2')), staged("small"));
        assertEquals(0, sweep.sweep(), "still in use: kept, asked again");
        farm.hypervisor.stagedInUse.clear();
        assertEquals(2L << 20, sweep.sweep(), "freed: unstaged at the next sweep");
        assertEquals(Set.of(), staged("small"));

        stage("small", wiki);
        sweep.sweep(); // listed once
        store.images = List.of(wiki); // obtained again meanwhile
        assertEquals(0, sweep.sweep());
        assertEquals(Set.of(sha('1'), sha('2')), staged("small"));
    }

    @Test
    void aStoreWithoutArtifactsOrAnotherStoreInForceDeletesNothing() throws Exception {
        ImageRef wiki = image("wiki", '1', '2');
        store.images = List.of(wiki);
        stage("small", wiki);
        ImageStore compositions = farm.images; // the core's own store: compositions only, as when the image bundle stops
        sweep.imageStore = compositions;
        sweep.sweep();
        sweep.sweep();
        assertEquals(Set.of(sha('1'), sha('2')), staged("small"), "compositions say nothing of what hosts need");

        Store other = new Store();
        other.images = List.of(image("blog", '4', '3'));
        sweep.imageStore = store;
        store.images = List.of(image("blog", '4', '3'));
        sweep.sweep(); // listed by the first store
        sweep.imageStore = other;
        assertEquals(0, sweep.sweep(), "another store in force: its first sweep counts as a first");
        assertEquals(Set.of(sha('1'), sha('2')), staged("small"));
        assertEquals(3L << 20, sweep.sweep());
        assertEquals(Set.of(), staged("small"));
    }

    @Test
    void onlyTheApplianceLeadingThePeriodicWorkSweeps() throws Exception {
        ListedLeadership leadership = new ListedLeadership("east", "west");
        sweep.leadership = leadership;
        store.images = List.of(image("blog", '4', '3'));
        stage("small", image("wiki", '1', '2'));
        sweep.sweep();
        sweep.sweep();
        assertEquals(Set.of(sha('1'), sha('2')), staged("small"), "west sweeps: another store's needs are not east's");
        leadership.leader = "east";
        leadership.leads = true;
        assertEquals(0, sweep.sweep(), "leading now: the first sweep counts as a first");
        assertEquals(3L << 20, sweep.sweep());
        assertEquals(Set.of(), staged("small"));
    }

    /**
     * Images old (a 9 MiB disk), mid (5 MiB) and recent (4 MiB), last used in that order, sharing a 1 MiB kernel, in
     * the store and staged on {@code hosts}: 19 MiB on each.
     */
    private List<ImageRef> threeImagesStagedOn(String... hosts) throws HypervisorException {
        store.images = List.of(image("old", '1', '9'), image("mid", '1', '5'), image("recent", '1', '4'));
        store.lastUsed.putAll(Map.of("old", EPOCH.plusSeconds(10), "mid", EPOCH.plusSeconds(20),
                "recent", EPOCH.plusSeconds(30)));
        for (String host : hosts) {
            for (ImageRef image : store.images) {
                stage(host, image);
            }
        }
        return store.images;
    }

    /**
     * A host whose staging space is at the high mark (85%) sheds what it holds for images the store keeps but no VM of
     * the host runs from, least recently used first, until what goes brings it to the low mark (80%): at the second
     * sweep that finds so, as for what no image needs. A host with room keeps everything.
     */
    @Test
    void aHostShortOfSpaceShedsTheLeastRecentlyUsedImagesNoVmThereRunsFromDownToTheLowMark() throws Exception {
        ImageRef old = threeImagesStagedOn("small", "large").get(0);
        farm.hypervisor.stagingCapacity.put("small", 20L << 20); // 19 of 20 MiB used: 95%
        farm.hypervisor.stagingCapacity.put("large", 100L << 20); // 19%

        assertEquals(0, sweep.sweep(), "listed first");
        assertEquals(1L << 20, farm.host("small").orElseThrow().staging().availableBytes(), "the host's status says");
        assertEquals(9L << 20, sweep.sweep(), "old's disk only: 10 of 20 MiB used after, under the low mark (16)");
        assertEquals(10L << 20, farm.host("small").orElseThrow().staging().availableBytes(),
                "read again once it went: placement sees the room at once");
        assertEquals(Set.of(sha('1'), sha('5'), sha('4')), staged("small"), "the kernel: mid and recent boot it");
        assertEquals(Set.of(sha('1'), sha('9'), sha('5'), sha('4')), staged("large"), "large had room");
        assertEquals(0, sweep.sweep(), "down to 50%: nothing more goes");
        assertEquals(Set.of(), sweep.hostsShortOfSpace());

        stage("small", old); // placed there again: 95% again
        assertEquals(0, sweep.sweep());
        assertEquals(9L << 20, sweep.sweep());
        assertEquals(Set.of(sha('1'), sha('5'), sha('4')), staged("small"));
        assertEquals(Set.of(), sweep.hostsShortOfSpace(), "what went brings it down: no warning");
    }

    /**
     * The order is by an image's last use on the host, as the table remembers its VMs there (DESTROYED rows included),
     * and by its last use anywhere for an image the table remembers no VM of there.
     */
    @Test
    void theLeastRecentlyUsedIsCountedOnTheHost() throws Exception {
        threeImagesStagedOn("small"); // last used anywhere: old, then mid, then recent
        farm.hypervisor.stagingCapacity.put("small", 20L << 20);
        vm("sf-1", "small", "recent", VmState.DESTROYED, EPOCH.plusSeconds(5)); // long ago on small
        vm("sf-2", "small", "old", VmState.DESTROYED, EPOCH.plusSeconds(100)); // lately on small
        sweep.sweep();
        assertEquals(4L << 20, sweep.sweep(), "recent, the least recently used on small, goes; 4 MiB are enough");
        assertEquals(Set.of(sha('1'), sha('9'), sha('5')), staged("small"));
    }

    /** No more of an image goes than the low mark needs, its largest content first: less to stage again. */
    @Test
    void onlyAsMuchOfAnImageGoesAsTheLowMarkNeedsTheLargestFirst() throws Exception {
        store.images = List.of(image("old", '2', '8'), image("recent", '1', '3'));
        store.lastUsed.putAll(Map.of("old", EPOCH.plusSeconds(10), "recent", EPOCH.plusSeconds(20)));
        for (ImageRef image : store.images) {
            stage("small", image);
        }
        farm.hypervisor.stagingCapacity.put("small", 16L << 20); // 14 of 16 MiB used: 87.5%, 1.2 MiB above 80%
        sweep.sweep();
        assertEquals(8L << 20, sweep.sweep(), "old's disk is enough");
        assertEquals(Set.of(sha('2'), sha('1'), sha('3')), staged("small"), "old's kernel stays");
    }

    /**
     * Images a VM of the host runs from (any state but DESTROYED or FAILED), those of a VM on the move anywhere, and
     * those the host holds a checkpoint of are not offered; the next in the policy's order go instead. Nothing left to
     * offer, the host keeps what it has and the operator is warned.
     */
    @Test
    void imagesAVmOrACheckpointOfTheHostNeedsAreNotOfferedForRoom() throws Exception {
        ImageRef mid = threeImagesStagedOn("small").get(1);
        farm.hypervisor.stagingCapacity.put("small", 20L << 20);
        vm("sf-old", "small", "old", VmState.ARCHIVED);
        vm("sf-gone", "small", "mid", VmState.DESTROYED);
        store.checkpoints.add("recent/small");
        sweep.sweep();
        assertEquals(5L << 20, sweep.sweep(), "old runs there (archived), recent is checkpointed there: mid goes");
        assertEquals(Set.of(sha('1'), sha('9'), sha('4')), staged("small"));
        assertEquals(Set.of(), sweep.hostsShortOfSpace(), "mid's 5 MiB bring it from 19 to 14 MiB, under 16");

        stage("small", mid);
        vm("sf-moving", "large", "mid", VmState.ARCHIVING); // on the move: its target may be small
        sweep.sweep();
        assertEquals(0, sweep.sweep(), "old runs there, mid is on the move, recent is checkpointed there");
        assertEquals(Set.of("small"), sweep.hostsShortOfSpace(), "said once in the log");
        assertEquals(Set.of(sha('1'), sha('9'), sha('5'), sha('4')), staged("small"));
    }

    private void vm(String id, String host, String image, VmState state) {
        vm(id, host, image, state, null);
    }

    private void vm(String id, String host, String image, VmState state, Instant lastUsed) {
        farm.table.put(new VmRecord(id, host, image, new Offering("wiki", "2.1", new Environment("debian-12",
                "nginx-1.22", "php-8.2", List.of()), "standard"), Map.of(), state, new Capacity(1, 256, 1), EPOCH,
                lastUsed, 0, null));
    }

    /** Fills the host's staging space with {@code percent}% taken by content a guest of another farm uses. */
    private void filledByOthers(String host, int percent) {
        farm.hypervisor.stagingCapacity.put(host, 100L << 20);
        String foreign = sha('f');
        farm.hypervisor.stagedByHost.computeIfAbsent(host, h -> new java.util.concurrent.ConcurrentHashMap<>())
                .put(foreign, (long) percent << 20);
        farm.hypervisor.stagedInUse.add(host + "/" + foreign);
    }

    private String placedOn(String service) {
        return org.junit.jupiter.api.Assertions.assertInstanceOf(org.servicefarm.api.Outcome.Granted.class,
                farm.manager.request(org.servicefarm.api.ServiceRequest.of(service)
                        .withDeadline(java.time.Duration.ofSeconds(10)))).hostId();
    }

    /**
     * Each sweep's reading of a host's staging space is its status's, which placement's space filter reads: a host
     * 95% used or more takes no new VM (nothing there could go: another farm's guest uses it); once a sweep reads it
     * below, it does again. An appliance that does not lead the sweeps reads the space all the same.
     */
    @Test
    void aHostWhoseStagingSpaceIsNearlyFullTakesNoNewVm() throws Exception {
        store.images = List.of(image("blog", '4', '3'));
        filledByOthers("large", 96);
        filledByOthers("small", 50);
        ListedLeadership leadership = new ListedLeadership("east", "west");
        sweep.leadership = leadership; // west leads: east only reads
        sweep.sweep();
        assertEquals(new org.servicefarm.api.driver.StagingSpace(100L << 20, 4L << 20),
                farm.host("large").orElseThrow().staging());
        org.servicefarm.api.Explanation explained = farm.manager.explain(org.servicefarm.api.ServiceRequest.of("wiki"));
        assertEquals("create a VM on host small", explained.action(), "large, first by name, is skipped");
        assertEquals(List.of("space: 1 host(s), e.g. large: its staging space is 96% used (4194304 of 104857600 bytes "
                + "available; fullPercent 95)"), explained.placement().removed().stream()
                .filter(r -> r.filter().equals("space")).map(r -> r.filter() + ": " + r.hosts() + " host(s), e.g. "
                        + r.example()).toList());
        assertEquals("small", placedOn("wiki"));

        farm.hypervisor.stagedByHost.get("large").put(sha('f'), 90L << 20); // the other farm made room
        sweep.sweep();
        assertEquals("large", placedOn("blog"));
    }

    /**
     * A staging that fails on a host has its staging space read again at once, without waiting for the next sweep:
     * its disk full, the creation goes on to the next host, and the next VM goes elsewhere without trying it.
     */
    @Test
    void aStagingThatFailsHasTheHostsSpaceReadAtOnce() throws Exception {
        // sweeping once a day: only the failure (the host registry tells the sweep) reads it
        filledByOthers("large", 100);
        assertEquals("small", placedOn("wiki"), "large failed to stage it: the next host was tried");
        Farm.await("large read as full", () -> farm.host("large").orElseThrow().staging() != null);
        assertEquals(0, farm.host("large").orElseThrow().staging().availableBytes());
        assertEquals("small", placedOn("blog"), "large, with fewer VMs, is not tried: it is full");
        assertEquals(1, farm.host("large").orElseThrow().health().consecutiveFailures(), "one failure there, not two");
    }

    @Test
    void highAndLowMarksOutOfRangeAreRefused() {
        Map<Map<String, Object>, String> refused = Map.of(
                Map.of("staged.spaceHighPercent", 0), "staged.spaceHighPercent must be 1 to 100: 0",
                Map.of("staged.spaceHighPercent", 101), "staged.spaceHighPercent must be 1 to 100: 101",
                Map.of("staged.spaceHighPercent", 70), "staged.spaceLowPercent must be 0 to staged.spaceHighPercent - 1 "
                        + "(69): 80",
                Map.of("staged.spaceLowPercent", -1), "staged.spaceLowPercent must be 0 to staged.spaceHighPercent - 1 "
                        + "(84): -1");
        refused.forEach((config, message) -> assertEquals(message, org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> sweep.modified(Farm.convert(config, StagedSweep.Config.class),
                        null)).getMessage()));
    }

    @Test
    void theSweepRunsByItselfAtTheConfiguredPeriodAndAPeriodOutOfRangeIsRefused() throws Exception {
        ImageRef wiki = image("wiki", '1', '2');
        store.images = List.of(image("blog", '4', '3'));
        stage("small", wiki);
        IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> sweep.modified(Farm.convert(Map.of("staged.sweepSeconds", 0), StagedSweep.Config.class), null));
        assertEquals("staged.sweepSeconds must be 1 to 86400 (a day): 0", refused.getMessage());
        sweep.modified(Farm.convert(Map.of("staged.sweepSeconds", 1), StagedSweep.Config.class), null);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!staged("small").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(Set.of(), staged("small"), "unstaged by the second sweep, about 2 s after the change");
    }
}
