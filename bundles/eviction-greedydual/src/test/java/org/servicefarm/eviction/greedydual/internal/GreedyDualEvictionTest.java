package org.servicefarm.eviction.greedydual.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.eviction.EvictionCandidate;

class GreedyDualEvictionTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    private static EvictionCandidate vm(String id, long uses, int lastUsedSecond, Duration back) {
        return new EvictionCandidate(id, T0, T0.plusSeconds(lastUsedSecond), uses, 256L << 20, back);
    }

    @Test
    void costOfBringingBackAndFrequencyKeepAVmSizeDoesNot() {
        GreedyDualEviction policy = new GreedyDualEviction();
        List<String> ranked = policy.rank(List.of(
                vm("cheap-to-restore", 3, 100, Duration.ofSeconds(1)),
                vm("slow-to-rebuild", 3, 1, Duration.ofSeconds(9)),
                vm("popular", 20, 1, Duration.ofSeconds(1)),
                new EvictionCandidate("big-but-same", T0, T0.plusSeconds(50), 3, 8L << 30, Duration.ofSeconds(1))),
                T0.plusSeconds(200)).stream().map(EvictionCandidate::id).toList();
        // H: cheap 3, big 3 (size ignored; less recently used than cheap goes first), slow 27, popular 20
        assertEquals(List.of("big-but-same", "cheap-to-restore", "popular", "slow-to-rebuild"), ranked);
        assertEquals(3.0, policy.clock(), 1e-9, "the clock inflated to what goes");
    }

    @Test
    void whatWasValuableLongAgoAgesOutAgainstWhatIsUsedNow() {
        GreedyDualEviction policy = new GreedyDualEviction();
        EvictionCandidate stale = vm("stale", 10, 0, Duration.ofSeconds(1)); // H = 10, never used again
        for (int round = 1; round <= 12; round++) {
            // a fresh VM used once per round enters at L + 1: the clock climbs with each eviction
            EvictionCandidate fresh = vm("fresh-" + round, 1, round, Duration.ofSeconds(1));
            List<EvictionCandidate> ranked = policy.rank(List.of(stale, fresh), T0.plusSeconds(round));
            if (ranked.get(0).id().equals("stale")) {
                assertTrue(round > 9, "the stale VM outlives the clock's first rounds, then goes: round " + round);
                return;
            }
        }
        throw new AssertionError("the stale VM never aged out");
    }
}
