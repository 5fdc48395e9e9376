package org.servicefarm.placement.cheapest.internal;

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

class CheapestPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final PlacementRequest ONE_SMALL_VM =
            new PlacementRequest(WIKI, "standard", new Capacity(1, 512, 1), List.of());
    private static final Capacity ROOMY = new Capacity(8, 8192, 10);

    private final CheapestPlacement strategy = new CheapestPlacement();

    @Test
    void choosesTheLowestCostPerHourEvenWhenItIsBusier() {
        HostStatus dear = host("dear", 0.90, ROOMY, Capacity.ZERO);
        HostStatus cheap = host("cheap", 0.10, ROOMY, new Capacity(6, 6144, 8));
        HostStatus middling = host("middling", 0.40, ROOMY, new Capacity(1, 512, 1));

        assertEquals("cheap", choose(dear, cheap, middling));
        assertEquals("cheap", choose(middling, dear, cheap));
    }

    @Test
    void equalCostIsBrokenByTheLeastLoad() {
        HostStatus busy = host("a-busy", 0.25, ROOMY, new Capacity(4, 1024, 2));
        HostStatus quiet = host("z-quiet", 0.25, ROOMY, new Capacity(1, 1024, 2));
        HostStatus dear = host("dear", 0.50, ROOMY, Capacity.ZERO);

        assertEquals("z-quiet", choose(busy, quiet, dear));
    }

    @Test
    void equalCostAndLoadAreBrokenByNameWhateverTheOrderGiven() {
        HostStatus beta = host("beta", 0.25, ROOMY, Capacity.ZERO);
        HostStatus alpha = host("alpha", 0.25, ROOMY, Capacity.ZERO);

        assertEquals("alpha", choose(beta, alpha));
        assertEquals("alpha", choose(alpha, beta));
    }

    @Test
    void ranksEveryHostByPrice() {
        HostStatus dear = host("dear", 0.90, ROOMY, Capacity.ZERO);
        HostStatus cheap = host("cheap", 0.10, ROOMY, new Capacity(6, 6144, 8));
        HostStatus middling = host("middling", 0.40, ROOMY, new Capacity(1, 512, 1));

        List<String> names = new ArrayList<>();
        strategy.rank(ONE_SMALL_VM, HostViews.of(List.of(dear, cheap, middling))).forEachRemaining(c -> names.add(c.name()));
        assertEquals(List.of("cheap", "middling", "dear"), names);
    }

    private String choose(HostStatus... candidates) {
        return strategy.rank(ONE_SMALL_VM, HostViews.of(List.of(candidates))).next().name();
    }

    private static HostStatus host(String name, double costPerHour, Capacity capacity, Capacity used) {
        HostRecord record = new HostRecord(name, "libvirt", "test:///" + name, capacity, costPerHour, "standard",
                Map.of());
        return new HostStatus(record, used, true, null);
    }
}
