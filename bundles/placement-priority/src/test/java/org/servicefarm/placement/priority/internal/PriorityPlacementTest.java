package org.servicefarm.placement.priority.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.Weights;

class PriorityPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final Capacity EIGHT = new Capacity(8, 8192, 8);

    private final List<HostStatus> farm = List.of(
            host("fast-dear", 1.00, 4.0, new Capacity(1, 256, 1)),
            host("slow-cheap", 0.05, 1.0, new Capacity(4, 1024, 4)),
            host("slow-middling", 0.30, 1.0, Capacity.ZERO));

    @Test
    void premiumGetsTheFastestEmptiestHostFreeTheCheapestStandardABalance() {
        PriorityPlacement strategy = strategy(Map.of());
        assertEquals("fast-dear", first(strategy, "premium"));
        assertEquals("slow-cheap", first(strategy, "free"));
        // load 0 + cost 0.3 beats 0.125 + 1.0 and 0.5 + 0.05
        assertEquals("slow-middling", first(strategy, "standard"));
    }

    @Test
    void aTierNotConfiguredGetsTheOtherTiersWeights() {
        PriorityPlacement strategy = strategy(Map.of("otherTiers", "cost:1"));
        assertEquals("slow-cheap", first(strategy, "gold"));
        assertEquals(Weights.parse("cost:1"), strategy.weights(null));
    }

    @Test
    void tiersAreConfigurable() {
        PriorityPlacement strategy = strategy(Map.of("tiers", "premium=cost:1, free=speed:1"));
        assertEquals("slow-cheap", first(strategy, "premium"));
        assertEquals("fast-dear", first(strategy, "free"));
        assertEquals(Weights.parse("load:1"), strategy.weights("standard"));
    }

    @Test
    void aSettingThatDoesNotParseKeepsTheStrategyAway() {
        assertThrows(IllegalArgumentException.class, () -> strategy(Map.of("tiers", "premium")));
        assertThrows(IllegalArgumentException.class, () -> strategy(Map.of("tiers", "premium=fastness:1")));
    }

    private String first(PriorityPlacement strategy, String tier) {
        PlacementRequest request = new PlacementRequest(WIKI, tier, new Capacity(1, 256, 1), List.of());
        return strategy.rank(request, HostViews.of(farm)).next().name();
    }

    private static PriorityPlacement strategy(Map<String, Object> config) {
        PriorityPlacement strategy = new PriorityPlacement();
        strategy.configure(Converters.standardConverter().convert(new HashMap<>(config))
                .to(PriorityPlacement.Config.class), null);
        return strategy;
    }

    private static HostStatus host(String name, double cost, double speed, Capacity used) {
        return new HostStatus(new HostRecord(name, "libvirt", "test:///" + name, EIGHT, cost, "standard", Map.of(),
                speed), used, true, null);
    }
}
