package org.servicefarm.placement.leastloaded.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.placement.PlacementRequest;

class LeastLoadedPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final Capacity ONE_SMALL_VM = new Capacity(1, 512, 1);

    private final LeastLoadedPlacement strategy = new LeastLoadedPlacement();

    @Test
    void choosesTheHostLeastLoadedAfterPlacement() {
        HostStatus busy = host("busy", new Capacity(8, 8192, 10), new Capacity(6, 2048, 3));
        HostStatus quiet = host("quiet", new Capacity(8, 8192, 10), new Capacity(2, 2048, 3));

        assertEquals("quiet", choose(request(List.of()), busy, quiet));
        assertEquals("quiet", choose(request(List.of()), quiet, busy));
    }

    @Test
    void countsTheNewVmSoABiggerHostBeatsASmallerOneEquallyUsedNow() {
        // Both idle before placement; the new VM takes half of the small host but an eighth of the big one.
        HostStatus small = host("a-small", new Capacity(2, 1024, 2), Capacity.ZERO);
        HostStatus big = host("z-big", new Capacity(8, 4096, 8), Capacity.ZERO);

        assertEquals("z-big", choose(request(List.of()), small, big));
    }

    @Test
    void equalLoadIsBrokenByFewerReplicasOfTheSameOffering() {
        HostStatus a = host("a", new Capacity(4, 4096, 4), new Capacity(1, 512, 1));
        HostStatus b = host("b", new Capacity(4, 4096, 4), new Capacity(1, 512, 1));

        assertEquals("b", choose(request(List.of("a")), a, b));
        assertEquals("a", choose(request(List.of("b", "b")), a, b));
        // Two replicas on a count against it more than one on b.
        assertEquals("b", choose(request(List.of("a", "a", "b")), a, b));
    }

    @Test
    void equalLoadAndReplicasAreBrokenByNameWhateverTheOrderGiven() {
        HostStatus alpha = host("alpha", new Capacity(4, 4096, 4), Capacity.ZERO);
        HostStatus beta = host("beta", new Capacity(4, 4096, 4), Capacity.ZERO);
        HostStatus gamma = host("gamma", new Capacity(4, 4096, 4), Capacity.ZERO);

        assertEquals("alpha", choose(request(List.of()), gamma, beta, alpha));
        assertEquals("alpha", choose(request(List.of()), beta, alpha, gamma));
    }

    @Test
    void aHostThatCannotHoldTheDemandIsNotChosen() {
        HostStatus full = host("full", new Capacity(8, 8192, 2), new Capacity(1, 512, 2));
        HostStatus tight = host("tight", new Capacity(2, 1024, 4), new Capacity(1, 256, 1));

        assertEquals("tight", choose(request(List.of()), full, tight));
        assertEquals(Optional.empty(), strategy.choose(request(List.of()), List.of(full)));
    }

    @Test
    void noCandidatesGivesNoChoice() {
        assertTrue(strategy.choose(request(List.of()), List.of()).isEmpty());
    }

    @Test
    void leavesItsInputAsItWas() {
        List<HostStatus> candidates = new ArrayList<>(List.of(
                host("b", new Capacity(4, 4096, 4), Capacity.ZERO),
                host("a", new Capacity(4, 4096, 4), Capacity.ZERO)));
        List<HostStatus> before = List.copyOf(candidates);

        strategy.choose(request(List.of()), candidates);

        assertEquals(before, candidates);
    }

    private String choose(PlacementRequest request, HostStatus... candidates) {
        return strategy.choose(request, List.of(candidates)).orElseThrow().name();
    }

    private static PlacementRequest request(List<String> replicaHosts) {
        return new PlacementRequest(WIKI, "standard", ONE_SMALL_VM, replicaHosts);
    }

    private static HostStatus host(String name, Capacity capacity, Capacity used) {
        HostRecord record = new HostRecord(name, "libvirt", "test:///" + name, capacity, 1.0, "standard", Map.of());
        return new HostStatus(record, used, true, null);
    }
}
