package org.servicefarm.placement.spread.internal;

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

class SpreadPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final Capacity ROOMY = new Capacity(16, 32768, 16);

    private final SpreadPlacement strategy = new SpreadPlacement();

    @Test
    void aHostWithoutAReplicaBeatsOneWithAReplicaAndFewerVms() {
        HostStatus holder = host("holder", new Capacity(1, 256, 1));
        HostStatus crowded = host("crowded", new Capacity(8, 2048, 8));

        assertEquals(List.of("crowded", "holder"), ranking(List.of("holder"), holder, crowded));
    }

    @Test
    void amongHostsWithoutReplicasTheOneWithFewestVmsWins() {
        HostStatus many = host("many", new Capacity(6, 1536, 6));
        HostStatus few = host("few", new Capacity(2, 512, 2));
        HostStatus none = host("none", Capacity.ZERO);

        assertEquals(List.of("none", "few", "many"), ranking(List.of(), many, few, none));
    }

    @Test
    void fewerReplicasBeatMoreAndTiesGoByName() {
        HostStatus two = host("two", Capacity.ZERO);
        HostStatus oneB = host("one-b", Capacity.ZERO);
        HostStatus oneA = host("one-a", Capacity.ZERO);

        assertEquals(List.of("one-a", "one-b", "two"), ranking(List.of("two", "two", "one-b", "one-a"), two, oneB, oneA));
    }

    private List<String> ranking(List<String> replicaHosts, HostStatus... hosts) {
        PlacementRequest request = new PlacementRequest(WIKI, "standard", new Capacity(1, 256, 1), replicaHosts);
        List<String> names = new ArrayList<>();
        strategy.rank(request, HostViews.of(List.of(hosts))).forEachRemaining(c -> names.add(c.name()));
        return names;
    }

    private static HostStatus host(String name, Capacity used) {
        return new HostStatus(new HostRecord(name, "libvirt", "test:///" + name, ROOMY, 1.0, "standard", Map.of()),
                used, true, null);
    }
}
