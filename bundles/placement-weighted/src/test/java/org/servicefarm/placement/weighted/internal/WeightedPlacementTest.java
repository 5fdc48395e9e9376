package org.servicefarm.placement.weighted.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
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

class WeightedPlacementTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final PlacementRequest REQUEST = new PlacementRequest(WIKI, "standard", new Capacity(1, 256, 1),
            List.of());
    private static final Capacity EIGHT = new Capacity(8, 8192, 8);

    // cheap but busy, dear but idle, middling both
    private final HostStatus cheapBusy = host("cheap-busy", 0.10, 1.0, new Capacity(6, 1024, 6));
    private final HostStatus dearIdle = host("dear-idle", 1.00, 1.0, Capacity.ZERO);
    private final HostStatus middling = host("middling", 0.40, 1.0, new Capacity(2, 1024, 2));
    private final HostStatus fast = host("fast", 1.00, 4.0, new Capacity(4, 1024, 4));

    @Test
    void theBlendDecides() {
        assertEquals(List.of("cheap-busy", "middling", "dear-idle", "fast"), ranking("cost:1"));
        assertEquals(List.of("dear-idle", "middling", "fast", "cheap-busy"), ranking("load:1"));
        // load 0.75 + cost 0.1 = 0.85 vs 0 + 1 vs 0.25 + 0.4 = 0.65 vs 0.5 + 1
        assertEquals(List.of("middling", "cheap-busy", "dear-idle", "fast"), ranking("load:1 cost:1"));
        assertEquals("fast", ranking("speed:3, load:1").get(0));
    }

    @Test
    void scoresAreOneMinusTheWeightedMeanPenalty() {
        var candidate = strategy("load:1 cost:1").rank(REQUEST, HostViews.of(List.of(middling, dearIdle))).next();
        assertEquals("middling", candidate.name());
        assertEquals(1 - (0.25 + 0.4) / 2, candidate.score(), 1e-9);
    }

    @Test
    void weightsThatDoNotParseKeepTheStrategyAway() {
        assertThrows(IllegalArgumentException.class, () -> strategy("load:x"));
        assertThrows(IllegalArgumentException.class, () -> strategy("nearness:1"));
        assertThrows(IllegalArgumentException.class, () -> strategy("load:0"));
    }

    private List<String> ranking(String weights) {
        List<String> names = new ArrayList<>();
        strategy(weights).rank(REQUEST, HostViews.of(List.of(cheapBusy, dearIdle, middling, fast)))
                .forEachRemaining(c -> names.add(c.name()));
        return names;
    }

    private static WeightedPlacement strategy(String weights) {
        WeightedPlacement strategy = new WeightedPlacement();
        strategy.configure(Converters.standardConverter().convert(Map.of("weights", weights))
                .to(WeightedPlacement.Config.class), null);
        return strategy;
    }

    private static HostStatus host(String name, double cost, double speed, Capacity used) {
        return new HostStatus(new HostRecord(name, "libvirt", "test:///" + name, EIGHT, cost, "standard", Map.of(),
                speed), used, true, null);
    }
}
