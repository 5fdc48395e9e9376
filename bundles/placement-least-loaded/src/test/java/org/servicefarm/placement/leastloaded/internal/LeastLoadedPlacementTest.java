package org.servicefarm.placement.leastloaded.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.placement.PlacementRequest;

class LeastLoadedPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final PlacementRequest REQUEST = new PlacementRequest(WIKI, "standard", new Capacity(1, 512, 1),
            List.of());

    private final LeastLoadedPlacement strategy = new LeastLoadedPlacement();

    @Test
    void ranksTheLeastLoadedHostFirst() {
        HostStatus busy = host("busy", new Capacity(8, 8192, 10), new Capacity(6, 2048, 3));
        HostStatus quiet = host("quiet", new Capacity(8, 8192, 10), new Capacity(2, 2048, 3));
        HostStatus idle = host("idle", new Capacity(2, 1024, 2), Capacity.ZERO);

        assertEquals(List.of("idle", "quiet", "busy"), ranking(busy, quiet, idle));
    }

    @Test
    void loadIsTheLargestShareOfAnyResource() {
        // a quarter of the vCPUs but three quarters of the VM slots: 0.75
        HostStatus slots = host("slots", new Capacity(8, 8192, 4), new Capacity(2, 512, 3));
        HostStatus cpus = host("cpus", new Capacity(8, 8192, 16), new Capacity(4, 512, 3));

        assertEquals(List.of("cpus", "slots"), ranking(slots, cpus));
    }

    @Test
    void equalLoadGoesToTheHostWithMoreRoomThenByNameWhateverTheOrderGiven() {
        HostStatus alpha = host("alpha", new Capacity(4, 4096, 4), new Capacity(1, 512, 1));
        HostStatus beta = host("beta", new Capacity(8, 8192, 8), new Capacity(2, 1024, 2));
        HostStatus gamma = host("gamma", new Capacity(4, 4096, 4), new Capacity(1, 512, 1));

        assertEquals(List.of("beta", "alpha", "gamma"), ranking(gamma, beta, alpha));
        assertEquals(List.of("beta", "alpha", "gamma"), ranking(beta, alpha, gamma));
    }

    @Test
    void aBigIdleHostBeatsASmallIdleOneButNotAnEmptierOne() {
        HostStatus small = host("a-small", new Capacity(2, 1024, 2), Capacity.ZERO);
        HostStatus big = host("z-big", new Capacity(16, 16384, 16), Capacity.ZERO);
        HostStatus bigBusy = host("m-big-busy", new Capacity(16, 16384, 16), new Capacity(2, 1024, 2));

        assertEquals(List.of("z-big", "a-small", "m-big-busy"), ranking(small, bigBusy, big));
    }

    @Test
    void scoresAreOneMinusTheWeightedPenalties() {
        HostStatus half = host("half", new Capacity(4, 4096, 4), new Capacity(2, 512, 1));
        var candidate = strategy.rank(REQUEST, HostViews.of(List.of(half))).next();
        // load 0.5; room 0 (the most free slots in view)
        assertEquals(1 - 0.5 / 1.01, candidate.score(), 1e-9);
        assertEquals(0.5, candidate.scores().get(org.servicefarm.api.placement.Weigher.LOAD), 1e-9);
    }

    private List<String> ranking(HostStatus... hosts) {
        List<String> names = new ArrayList<>();
        strategy.rank(REQUEST, HostViews.of(List.of(hosts))).forEachRemaining(c -> names.add(c.name()));
        return names;
    }

    static HostStatus host(String name, Capacity capacity, Capacity used) {
        HostRecord record = new HostRecord(name, "libvirt", "test:///" + name, capacity, 1.0, "standard", Map.of());
        return new HostStatus(record, used, true, null);
    }
}
