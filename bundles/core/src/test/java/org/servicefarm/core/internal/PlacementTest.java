package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;

/** The core's placement on hand-built farms: every filter, the reservation, the fallback and the explanations. */
class PlacementTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.26", "php-8.2", List.of()), "standard");
    static final Offering VAULT = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.26", "php-8.2", List.of()), "high");
    static final Capacity VM = new Capacity(1, 256, 1);

    final HostIndex index = new HostIndex();
    final Placement placement = new Placement();
    final Map<String, HostFilter> filters = Filters.all();

    PlacementTest() {
        placement.index = index;
        placement.configure(Farm.convert(Map.of(), Placement.Config.class), null);
        filters.forEach((name, filter) -> placement.addFilter(filter, Map.of(HostFilter.NAME, name,
                HostFilter.COST, List.of("drained", "health", "capacity", "security-zone", "anti-affinity")
                        .indexOf(name))));
        placement.bindStrategy((request, view) -> view.ranked(Weights.of(Weigher.LOAD), request),
                Map.of(PlacementStrategy.NAME, "least-loaded"));
    }

    /** A connected host that takes {@code vms} VMs of one vCPU and 256 MiB. */
    void host(String name, int vms, double cost, String zone) {
        index.configure(new HostRecord(name, "fake", "fake:///" + name, new Capacity(vms, vms * 256L, vms), cost, zone,
                Map.of()));
        index.connection(name, true, null, null);
    }

    static PlacementRequest request(Offering offering, String... replicaHosts) {
        return new PlacementRequest(offering, "standard", VM, List.of(replicaHosts));
    }

    String place(PlacementRequest request) {
        return placement.place(request).host().map(HostStatus::name).orElse(null);
    }

    HostStatus status(String name) {
        return index.status(name).orElseThrow();
    }

    @Test
    void theStrategysBestHostIsReservedAndItsUseCounted() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        index.occupy("a", VM, "standard");

        assertEquals("b", place(request(WIKI)));
        assertEquals(1, status("b").used().vms());
        assertEquals(Map.of("standard", 1), status("b").securityLevels());
        assertEquals("a", place(request(WIKI)), "equal load: by name");
    }

    @Test
    void aFullHostIsSkippedAndAFullFarmExplainsWhy() {
        host("tiny", 1, 1, "standard");
        host("roomy", 3, 1, "standard");
        index.occupy("tiny", VM, "standard");

        assertEquals("roomy", place(request(WIKI)));
        assertEquals("roomy", place(request(WIKI)));
        assertEquals("roomy", place(request(WIKI)));
        Placement.Decision none = placement.place(request(WIKI));
        assertTrue(none.host().isEmpty());
        assertTrue(none.reason().startsWith("no host can take the VM"), none.reason());
    }

    @Test
    void aDrainedHostGetsNoNewVmUntilUndrainedAndKeepsItsVms() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        index.occupy("a", VM, "standard");
        index.occupy("a", VM, "standard");
        assertTrue(index.drain("b", true).drained());

        assertEquals("a", place(request(WIKI)));
        assertEquals(3, status("a").used().vms());
        PlacementExplanation why = placement.explain(request(WIKI));
        assertEquals("drained", why.removed().get(0).filter());
        assertEquals(1, why.removed().get(0).hosts());
        assertFalse(index.drain("b", false).drained());
        assertEquals("b", place(request(WIKI)));
    }

    @Test
    void aHostWhoseDriverKeepsFailingIsSkippedForABackOffAndRecoversOnSuccess() {
        MutableClock clock = new MutableClock();
        index.clock = clock;
        ((HealthFilter) filters.get("health")).clock = clock;
        host("flaky", 4, 1, "standard");
        host("steady", 4, 1, "standard");
        index.occupy("steady", VM, "standard");

        index.failed("flaky", "define: boom");
        index.failed("flaky", "define: boom");
        assertEquals("flaky", place(request(WIKI)), "two failures in a row are below the threshold of three");
        index.failed("flaky", "define: boom");
        assertEquals(3, status("flaky").health().consecutiveFailures());
        assertEquals("steady", place(request(WIKI)), "skipped for the back-off");
        clock.advance(Duration.ofSeconds(11));
        assertEquals("flaky", place(request(WIKI)), "tried again once the back-off passed");
        index.failed("flaky", "define: boom");
        clock.advance(Duration.ofSeconds(11));
        assertEquals("steady", place(request(WIKI)), "a fourth failure doubles the back-off to 20 s");
        index.succeeded("flaky");
        assertEquals(0, status("flaky").health().consecutiveFailures());
        assertEquals("flaky", place(request(WIKI)));
    }

    /**
     * A host whose staging space was 95% used or more when last read is skipped (the space filter), whatever else it
     * says of itself: other changes of its status keep the reading; a host never read is admitted. The mark is the
     * filter's configuration; one out of range is refused.
     */
    @Test
    void aHostWhoseStagingSpaceIsNearlyFullIsSkipped() {
        host("full", 4, 1, "standard");
        host("roomy", 4, 1, "standard");
        index.occupy("roomy", VM, "standard");
        index.stagingSpace("full", new StagingSpace(1000, 51));
        assertEquals("full", place(request(WIKI)), "94.9% used: not yet full");
        index.stagingSpace("full", new StagingSpace(1000, 50));
        index.failed("full", "define: boom"); // another change of its status keeps the reading
        assertEquals(new StagingSpace(1000, 50), status("full").staging());
        assertEquals("roomy", place(request(WIKI)));
        assertEquals(Optional.of("its staging space is 95% used (50 of 1000 bytes available; fullPercent 95)"),
                filters.get("space").reject(status("full"), request(WIKI)));
        assertEquals(Optional.empty(), filters.get("space").reject(status("roomy"), request(WIKI)),
                "never read: admitted");

        SpaceFilter space = (SpaceFilter) filters.get("space");
        space.configure(Farm.convert(Map.of("fullPercent", 100), SpaceFilter.Config.class), null);
        assertEquals("full", place(request(WIKI)), "only a host with nothing available is full at 100");
        for (int out : new int[] {0, 101}) {
            assertEquals("fullPercent must be 1 to 100: " + out, assertThrows(IllegalArgumentException.class,
                    () -> space.configure(Farm.convert(Map.of("fullPercent", out), SpaceFilter.Config.class), null))
                    .getMessage());
        }
        assertEquals("full", place(request(WIKI)), "the mark before the refused ones stays in force");
    }

    @Test
    void aDisconnectedHostIsSkippedAndAReconnectionClearsItsFailures() {
        host("a", 4, 1, "standard");
        index.failed("a", "x");
        index.connection("a", false, "cannot connect: gone", null);
        assertNull(place(request(WIKI)));
        assertTrue(placement.explain(request(WIKI)).reason().contains("not connected (cannot connect: gone)"));
        index.connection("a", true, null, null);
        assertEquals(0, status("a").health().consecutiveFailures());
        assertEquals("a", place(request(WIKI)));
    }

    @Test
    void isolatedLevelsStayInTheirZoneWhichIsLeftOutOfViewForOthers() {
        host("a", 4, 1, "standard");
        host("v1", 4, 1, "high");
        host("v2", 4, 1, "high");

        assertEquals("v1", place(request(VAULT)));
        assertEquals("a", place(request(WIKI)));
        PlacementExplanation why = placement.explain(request(WIKI));
        PlacementExplanation.Removal zone = why.removed().stream().filter(r -> r.filter().equals("security-zone"))
                .findFirst().orElseThrow();
        assertEquals(2, zone.hosts(), "the high zone's two hosts, removed as a zone");
        assertEquals(1, why.examined(), "only the standard zone's host is looked at");
    }

    @Test
    void separateLevelsKeepTenantsOfDifferentLevelsOffOneHost() {
        ((SecurityZoneFilter) filters.get("security-zone")).configure(Farm.convert(
                Map.of("separateLevels", true), SecurityZoneFilter.Config.class));
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        index.occupy("a", VM, "low");

        Offering low = new Offering("wiki", "2.1", WIKI.environment(), "low");
        assertEquals("b", place(request(WIKI)), "a runs a low VM");
        assertEquals("a", place(request(low)), "b runs a standard VM now");
        assertNull(place(request(new Offering("wiki", "2.1", WIKI.environment(), "medium"))));
    }

    @Test
    void replicasOfOneOfferingGoToDifferentHosts() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        assertEquals("a", place(request(WIKI)));
        assertEquals("b", place(request(WIKI, "a")));
        Placement.Decision none = placement.place(request(WIKI, "a", "b"));
        assertTrue(none.reason().contains("anti-affinity removed 2"), none.reason());
    }

    @Test
    void explainingReservesNothingAndListsTheBestCandidatesWithScores() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        host("c", 4, 1, "standard");
        index.occupy("b", VM, "standard");
        index.occupy("c", VM, "standard");
        index.occupy("c", VM, "standard");
        List<HostStatus> before = index.statuses();

        PlacementExplanation why = placement.explain(request(WIKI));

        assertEquals(before, index.statuses(), "nothing changed");
        assertEquals("least-loaded", why.strategy());
        assertEquals("a", why.chosen());
        assertEquals(List.of("a", "b", "c"), why.candidates().stream().map(c -> c.name()).toList());
        assertEquals(List.of(1.0, 0.75, 0.5), why.candidates().stream().map(c -> c.score()).toList());
        assertEquals(Map.of(Weigher.LOAD, 0.75), why.candidates().get(1).scores());
        assertEquals(3, why.hosts());
    }

    @Test
    void withoutAStrategyOrWithAFailingOneTheCoreRanksByLoadItself() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        index.occupy("a", VM, "standard");
        PlacementStrategy broken = (request, view) -> {
            throw new IllegalStateException("bundle stopping");
        };
        placement.bindStrategy(broken, Map.of(PlacementStrategy.NAME, "broken"));
        Placement.Decision decision = placement.place(request(WIKI));
        assertEquals("b", decision.host().orElseThrow().name());
        assertTrue(decision.strategy().startsWith(Placement.FALLBACK_NAME), decision.strategy());

        placement.unbindStrategy(broken);
        assertEquals(Placement.FALLBACK_NAME, placement.explain(request(WIKI)).strategy());
        assertEquals("a", place(request(WIKI)));
    }

    @Test
    void concurrentPlacementsNeverOverCommitAHost() throws Exception {
        for (int h = 0; h < 20; h++) {
            host("h" + h, 5, 1, "standard");
        }
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger placed = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < 50; i++) {
                    if (placement.place(request(WIKI)).host().isPresent()) {
                        placed.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : done) {
            f.get(30, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertEquals(100, placed.get(), "exactly the farm's 20 x 5 slots, of 400 tries");
        for (HostStatus host : index.statuses()) {
            assertEquals(5, host.used().vms(), host.name());
            assertEquals(5, host.used().vcpus(), host.name());
        }
    }

    @Test
    void aHostBeingRemovedTakesNoReservationAndOneWithVmsCannotBeRemoved() {
        host("a", 4, 1, "standard");
        host("b", 4, 1, "standard");
        index.occupy("a", VM, "standard");
        org.junit.jupiter.api.Assertions.assertThrows(org.servicefarm.api.ConflictException.class,
                () -> index.retire("a"));
        index.retire("b");
        index.connection("b", true, null, null); // a late reconnect does not bring it back
        assertEquals("a", place(request(WIKI)));
        assertFalse(status("b").connected());
        assertEquals("being removed", status("b").detail());
    }

    @Test
    void releasingAReservationGivesTheRoomBack() {
        host("a", 1, 1, "standard");
        assertEquals("a", place(request(WIKI)));
        assertNull(place(request(WIKI)));
        placement.release("a", request(WIKI));
        assertEquals(Optional.of("a"), placement.place(request(WIKI)).host().map(HostStatus::name));
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration by) {
            now = now.plus(by);
        }

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
    }
}
