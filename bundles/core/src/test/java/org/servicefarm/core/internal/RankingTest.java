package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.HostView;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.Weights;

/** The indexed ranking (threshold algorithm) gives the order of the reference that scores every host. */
class RankingTest {

    private static final List<String> BLENDS = List.of("load:1", "fill:1", "room:1", "load:1 room:0.01", "cost:1",
            "speed:1", "vms:1",
            "replicas:1", "cost:1 load:0.001", "replicas:1 vms:0.1", "speed:2 load:1", "load:1 cost:1",
            "load:1 cost:1 speed:0.5 vms:0.3 replicas:2 fill:0.1 room:0.2");

    @Test
    void theIndexedRankingIsTheReferenceOrderOnRandomFarmsWithManyTies() {
        Random random = new Random(42);
        for (int farm = 0; farm < 30; farm++) {
            HostIndex index = new HostIndex();
            List<HostStatus> hosts = new ArrayList<>();
            int size = 1 + random.nextInt(60);
            for (int i = 0; i < size; i++) {
                // few distinct values, so ties are common
                int slots = 4 << random.nextInt(2);
                String name = "h" + random.nextInt(1000) + "-" + i;
                HostRecord record = new HostRecord(name, "fake", "fake:///x", new Capacity(slots, slots * 256L, slots),
                        random.nextInt(3) * 0.5, random.nextInt(4) == 0 ? "dmz" : "standard", Map.of(),
                        1 + random.nextInt(2));
                index.configure(record);
                index.connection(name, true, null, null);
                int used = random.nextInt(slots + 1);
                for (int v = 0; v < used; v++) {
                    index.occupy(name, PlacementTest.VM, "standard");
                }
            }
            hosts.addAll(index.statuses());
            List<String> replicas = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                replicas.add(hosts.get(random.nextInt(hosts.size())).name());
            }
            PlacementRequest request = new PlacementRequest(PlacementTest.WIKI, "standard", PlacementTest.VM, replicas);
            HostView indexed = index.view(index.zones());
            HostView reference = HostViews.of(hosts);
            for (String blend : BLENDS) {
                Weights weights = Weights.parse(blend);
                // the index leaves out hosts that cannot fit the VM: compare on those that can
                List<String> expected = names(reference.ranked(weights, request), true);
                List<String> actual = names(indexed.ranked(weights, request), true);
                assertEquals(expected, actual, "farm " + farm + ", blend " + blend);
            }
        }
    }

    @Test
    void aHostWhoseUseChangesWhileADrawReadsTheIndexesIsAlwaysFound() throws Exception {
        // one host whose VMs come and go (its keys change) while draws read: each draw must find it; before, a
        // change took the host's entries out before putting the new ones in, and a draw in between found no host
        HostIndex index = new HostIndex();
        index.configure(new HostRecord("a", "fake", "fake:///a", new Capacity(64, 65_536, 64), 0.5, "standard",
                Map.of()));
        index.connection("a", true, null, null);
        PlacementRequest request = new PlacementRequest(PlacementTest.WIKI, "standard", PlacementTest.VM, List.of());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread churn = new Thread(() -> {
            for (int i = 0; !stop.get(); i++) {
                index.occupy("a", PlacementTest.VM, "standard");
                index.vacate("a", PlacementTest.VM, "standard");
            }
        });
        churn.start();
        int missed = 0;
        try {
            for (int draw = 0; draw < 200_000; draw++) {
                if (!index.view(Set.of("standard")).ranked(Weights.parse("vms:1 load:1"), request).hasNext()) {
                    missed++;
                }
            }
        } finally {
            stop.set(true);
            churn.join();
        }
        assertEquals(0, missed, "draws that found no host");
    }

    @Test
    void scoresMatchTheReference() {
        HostIndex index = new HostIndex();
        index.configure(new HostRecord("a", "fake", "fake:///a", new Capacity(4, 1024, 4), 0.5, "standard", Map.of(), 2));
        index.configure(new HostRecord("b", "fake", "fake:///b", new Capacity(8, 2048, 8), 1.0, "standard", Map.of()));
        index.occupy("a", PlacementTest.VM, "standard");
        PlacementRequest request = new PlacementRequest(PlacementTest.WIKI, "standard", PlacementTest.VM, List.of("b"));
        Weights weights = Weights.parse("load:1 cost:2 speed:1 replicas:1");
        List<Candidate> expected = new ArrayList<>();
        HostViews.of(index.statuses()).ranked(weights, request).forEachRemaining(expected::add);
        List<Candidate> actual = new ArrayList<>();
        index.view(Set.of("standard")).ranked(weights, request).forEachRemaining(actual::add);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).name(), actual.get(i).name());
            assertEquals(expected.get(i).score(), actual.get(i).score(), 1e-12);
            assertEquals(expected.get(i).scores(), actual.get(i).scores());
        }
    }

    @Test
    void drawingTheBestOfManyEqualHostsReadsOnlyAFew() {
        HostIndex index = new HostIndex();
        for (int i = 0; i < 20_000; i++) {
            String name = String.format("h%05d", i);
            index.configure(new HostRecord(name, "fake", "fake:///x", new Capacity(16, 4096, 16), 1.0, "standard",
                    Map.of()));
        }
        PlacementRequest request = new PlacementRequest(PlacementTest.WIKI, "standard", PlacementTest.VM, List.of());
        Iterator<Candidate> ranking = index.view(index.zones()).ranked(Weights.parse("load:1 cost:1 vms:1"), request);
        long start = System.nanoTime();
        assertEquals("h00000", ranking.next().name());
        assertEquals("h00001", ranking.next().name());
        // reading all 20,000 to sort them would take far longer than a tenth of a second on any machine
        assertTrue(System.nanoTime() - start < 100_000_000L, "the first two of 20,000 equal hosts took "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    private static List<String> names(Iterator<Candidate> ranking, boolean fittingOnly) {
        List<String> names = new ArrayList<>();
        ranking.forEachRemaining(c -> {
            if (!fittingOnly || c.host().free().fits(PlacementTest.VM)) {
                names.add(c.name());
            }
        });
        return names;
    }
}
