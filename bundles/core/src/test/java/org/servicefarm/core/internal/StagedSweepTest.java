package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
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
    }

    private final Store store = new Store();

    StagedSweepTest() {
        sweep.hosts = farm.hosts;
        sweep.imageStore = store;
        sweep.events = farm.table.events;
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
