package org.servicefarm.eviction.lfu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.eviction.EvictionCandidate;

class LfuEvictionTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    private static EvictionCandidate vm(String id, long uses, int lastUsedSecond) {
        return new EvictionCandidate(id, T0, T0.plusSeconds(lastUsedSecond), uses, 256L << 20, Duration.ofSeconds(2));
    }

    @Test
    void theLeastUsedGoesFirstAndTiesByTheLeastRecentlyUsed() {
        List<EvictionCandidate> candidates = new ArrayList<>(List.of(vm("popular", 50, 1), vm("rare-recent", 2, 90),
                vm("rare-old", 2, 10), vm("once", 1, 100)));
        List<String> ranked = new LfuEviction().rank(candidates, T0.plusSeconds(120)).stream()
                .map(EvictionCandidate::id).toList();
        assertEquals(List.of("once", "rare-old", "rare-recent", "popular"), ranked);
        assertEquals("popular", candidates.get(0).id(), "the caller's list is left as it was");
    }
}
