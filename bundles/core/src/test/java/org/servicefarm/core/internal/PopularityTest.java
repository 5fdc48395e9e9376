package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageStatus.State;

/** The popularity tracker on a clock the test moves: counts over a sliding window, one pre-build per crossing. */
class PopularityTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");
    private static final Offering BLOG = new Offering("blog", "5.4",
            new Environment("debian-12", "nginx-1.22", "python-3.11", List.of()), "standard");

    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final RecordingImageStore store = new RecordingImageStore();
    private final Popularity popularity = new Popularity();
    /** The offerings popularity asked to checkpoint (what the checkpoints do is CheckpointFlowTest's). */
    private final List<Offering> checkpointed = new java.util.concurrent.CopyOnWriteArrayList<>();

    PopularityTest() {
        popularity.clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        };
        GuestPorts ports = new GuestPorts();
        ports.configure(Farm.convert(Map.of("servicePorts", "*=80, wiki=8080"), GuestPorts.Config.class), null);
        popularity.ports = ports;
        popularity.imageStore = store;
        popularity.checkpoints = new Checkpoints() {
            @Override
            java.util.concurrent.CompletableFuture<List<org.servicefarm.api.image.ImageRef>> prepare(Offering offering) {
                checkpointed.add(offering);
                return java.util.concurrent.CompletableFuture.completedFuture(List.of());
            }
        };
        popularity.configure(Farm.convert(Map.of("window.s", 60, "threshold", 3), Popularity.Config.class), null);
    }

    private void requests(Offering offering, int n) {
        for (int i = 0; i < n; i++) {
            popularity.record(offering);
        }
    }

    @Test
    void reachingTheThresholdBuildsTheImageOnceWithTheGuestPortsOfItsVms() {
        requests(WIKI, 2);
        assertEquals(List.of(), store.builds, "below the threshold");
        assertEquals(List.of(), checkpointed);
        requests(WIKI, 1);
        assertEquals(List.of(new RecordingImageStore.Build(WIKI, List.of(new VmSpec.GuestService("wiki", 8080)))),
                store.builds);
        assertEquals(List.of(WIKI), checkpointed, "pre-built and checkpointed");
        requests(WIKI, 10);
        assertEquals(1, store.builds.size(), "not again above the threshold");
        assertEquals(List.of(WIKI), checkpointed);
        Demand demand = popularity.demand().get(0);
        assertEquals(13, demand.requests());
        assertEquals(RecordingImageStore.id(WIKI), demand.prebuiltImage());
        assertEquals(Duration.ofSeconds(60), demand.window());
        assertEquals(3, demand.threshold());
    }

    /** What other appliances sharing the store were asked, as the store would tell it; what this one adds. */
    private static final class OtherAppliances implements org.servicefarm.api.store.DemandCounts {
        final Map<Offering, Map<Long, Long>> asked = new java.util.HashMap<>();
        final List<Offering> added = new java.util.ArrayList<>();

        @Override
        public void add(Offering offering, long minute) {
            added.add(offering);
        }

        @Override
        public List<Asked> history(long fromMinute) {
            return others(fromMinute);
        }

        @Override
        public List<Asked> others(long fromMinute) {
            List<Asked> all = new java.util.ArrayList<>();
            asked.forEach((offering, minutes) -> minutes.forEach((minute, n) -> {
                if (minute >= fromMinute) {
                    all.add(new Asked(offering, minute, n));
                }
            }));
            return all;
        }

        @Override
        public long othersAsked(Offering offering, long fromMinute) {
            return others(fromMinute).stream().filter(a -> a.offering().equals(offering))
                    .mapToLong(Asked::requests).sum();
        }
    }

    @Test
    void theRequestsOfOtherAppliancesSharingTheStoreCountToo() {
        OtherAppliances others = new OtherAppliances();
        popularity.demand = others;
        long minute = now.toEpochMilli() / 60_000;
        others.asked.put(WIKI, Map.of(minute - 1, 5L, minute, 1L)); // the one a minute ago is outside the 60 s window
        requests(WIKI, 1);
        assertEquals(List.of(), store.builds, "1 here + 1 elsewhere in the window: below the threshold of 3");
        requests(WIKI, 1);
        assertEquals(1, store.builds.size(), "2 here + 1 elsewhere: reached");
        assertEquals(List.of(WIKI, WIKI), others.added, "what this appliance is asked is added for the others");
        assertEquals(3 * 60_000.0 / 60_000, popularity.requestsPerMinute(WIKI), 1e-9);
        assertEquals(3, popularity.demand().get(0).requests());
    }

    @Test
    void countsSlideOutOfTheWindow() {
        requests(WIKI, 2);
        now = now.plusSeconds(30);
        requests(WIKI, 1);
        assertEquals(3, popularity.demand().get(0).requests());
        now = now.plusSeconds(31);
        assertEquals(1, popularity.demand().get(0).requests(), "the first two are over a minute old");
        now = now.plusSeconds(60);
        assertEquals(List.of(), popularity.demand());
    }

    @Test
    void reachingItAgainBuildsAgainOnlyIfTheImageIsGoneOrFailed() {
        requests(WIKI, 3);
        String id = RecordingImageStore.id(WIKI);
        store.states.put(id, State.READY);
        now = now.plusSeconds(120);
        requests(WIKI, 3);
        assertEquals(1, store.builds.size(), "built: not again");

        store.states.put(id, State.BUILDING);
        now = now.plusSeconds(120);
        requests(WIKI, 3);
        assertEquals(1, store.builds.size(), "being built: not again");

        store.states.put(id, State.FAILED);
        now = now.plusSeconds(120);
        requests(WIKI, 3);
        assertEquals(2, store.builds.size(), "its build failed: built again");

        store.states.remove(id); // evicted
        now = now.plusSeconds(120);
        requests(WIKI, 3);
        assertEquals(3, store.builds.size(), "evicted: built again");
    }

    @Test
    void listsTheMostAskedForFirstAndNothingWithThresholdZero() {
        requests(BLOG, 1);
        requests(WIKI, 2);
        List<Demand> demand = popularity.demand();
        assertEquals(List.of(WIKI, BLOG), demand.stream().map(Demand::offering).toList());
        assertNull(demand.get(1).prebuiltImage());

        popularity.configure(Farm.convert(Map.of("window.s", 60, "threshold", 0), Popularity.Config.class), null);
        requests(BLOG, 100);
        assertEquals(List.of(), store.builds);
    }

    @Test
    void theManagerFeedsItEveryRequestItResolves() {
        try (Farm farm = new Farm(Map.of())) {
            farm.popularity.configure(Farm.convert(Map.of("window.s", 600, "threshold", 2), Popularity.Config.class), null);
            for (int i = 0; i < 3; i++) {
                assertInstanceOf(Outcome.Granted.class, farm.manager.request(ServiceRequest.of("wiki")
                        .withDeadline(Duration.ofSeconds(10))));
            }
            farm.manager.request(ServiceRequest.of("no-such-app"));
            Demand wiki = farm.popularity.demand().get(0);
            assertEquals("wiki", wiki.offering().service());
            assertEquals(3, wiki.requests());
            assertEquals(1, farm.popularity.demand().size(), "a request that resolves to nothing counts for nothing");
            assertTrue(wiki.prebuiltImage().startsWith("img-"), "the composed store's image: " + wiki.prebuiltImage());
        }
    }
}
