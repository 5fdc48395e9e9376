package org.servicefarm.placement.binpack.internal;

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

class BinPackPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final PlacementRequest REQUEST = new PlacementRequest(WIKI, "standard", new Capacity(1, 256, 1),
            List.of());
    private static final Capacity EIGHT = new Capacity(8, 8192, 8);

    private final BinPackPlacement strategy = new BinPackPlacement();

    @Test
    void theFullestHostComesFirstAndEmptyHostsLast() {
        HostStatus empty = host("empty", Capacity.ZERO);
        HostStatus half = host("half", new Capacity(4, 1024, 4));
        HostStatus most = host("most", new Capacity(6, 1024, 6));

        assertEquals(List.of("most", "half", "empty"), ranking(empty, half, most));
    }

    @Test
    void equallyFullHostsGoByName() {
        HostStatus b = host("b", new Capacity(2, 1024, 2));
        HostStatus a = host("a", new Capacity(2, 1024, 2));

        assertEquals(List.of("a", "b"), ranking(b, a));
    }

    @Test
    void fillingHostsOneAfterAnotherKeepsTheOthersEmpty() {
        // what the core does: take the first, add the VM, rank again
        List<HostStatus> farm = new ArrayList<>(List.of(host("a", Capacity.ZERO), host("b", Capacity.ZERO)));
        for (int i = 0; i < 3; i++) {
            String first = ranking(farm.toArray(HostStatus[]::new)).get(0);
            farm.replaceAll(h -> h.name().equals(first) ? h.plus(REQUEST.demand(), "standard") : h);
        }
        assertEquals(3, farm.get(0).used().vms());
        assertEquals(0, farm.get(1).used().vms());
    }

    private List<String> ranking(HostStatus... hosts) {
        List<String> names = new ArrayList<>();
        strategy.rank(REQUEST, HostViews.of(List.of(hosts))).forEachRemaining(c -> names.add(c.name()));
        return names;
    }

    private static HostStatus host(String name, Capacity used) {
        return new HostStatus(new HostRecord(name, "libvirt", "test:///" + name, EIGHT, 1.0, "standard", Map.of()),
                used, true, null);
    }
}
