package org.servicefarm.eviction.lru.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.eviction.EvictionCandidate;

class LruEvictionTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final Instant NOW = T0.plus(Duration.ofDays(1));

    private final LruEviction policy = new LruEviction();

    @Test
    void ranksTheLeastRecentlyUsedFirst() {
        EvictionCandidate usedAnHourAgo = candidate("vm-1", T0, NOW.minusSeconds(3600));
        EvictionCandidate usedJustNow = candidate("vm-2", T0, NOW.minusSeconds(1));
        EvictionCandidate usedYesterday = candidate("vm-3", T0, T0.plusSeconds(10));

        assertEquals(List.of("vm-3", "vm-1", "vm-2"), ids(policy.rank(List.of(usedAnHourAgo, usedJustNow,
                usedYesterday), NOW)));
    }

    @Test
    void ignoresHowOftenOrHowBigSoOnlyRecencyCounts() {
        EvictionCandidate popularButStale = new EvictionCandidate("popular", T0, T0.plusSeconds(60), 1_000, 1L << 30,
                Duration.ofMinutes(10));
        EvictionCandidate rareButFresh = new EvictionCandidate("rare", T0, NOW, 1, 1, Duration.ZERO);

        assertEquals(List.of("popular", "rare"), ids(policy.rank(List.of(rareButFresh, popularButStale), NOW)));
    }

    @Test
    void equalLastUseIsBrokenByTheOlderFirst() {
        Instant lastUse = NOW.minusSeconds(60);
        EvictionCandidate younger = candidate("a-younger", T0.plusSeconds(100), lastUse);
        EvictionCandidate older = candidate("z-older", T0, lastUse);

        assertEquals(List.of("z-older", "a-younger"), ids(policy.rank(List.of(younger, older), NOW)));
    }

    @Test
    void equalLastUseAndAgeAreBrokenByIdWhateverTheOrderGiven() {
        Instant lastUse = NOW.minusSeconds(60);
        EvictionCandidate b = candidate("vm-b", T0, lastUse);
        EvictionCandidate a = candidate("vm-a", T0, lastUse);
        EvictionCandidate c = candidate("vm-c", T0, lastUse);

        assertEquals(List.of("vm-a", "vm-b", "vm-c"), ids(policy.rank(List.of(c, a, b), NOW)));
        assertEquals(List.of("vm-a", "vm-b", "vm-c"), ids(policy.rank(List.of(b, c, a), NOW)));
    }

    @Test
    void neverUsedCountsAsUsedWhenCreated() {
        // The API fills a missing lastUsedAt with createdAt.
        EvictionCandidate neverUsed = new EvictionCandidate("never-used", T0.plusSeconds(30), null, 0, 0, null);
        EvictionCandidate usedEarlier = candidate("used-earlier", T0, T0.plusSeconds(20));
        EvictionCandidate usedLater = candidate("used-later", T0, T0.plusSeconds(40));

        assertEquals(List.of("used-earlier", "never-used", "used-later"),
                ids(policy.rank(List.of(usedLater, neverUsed, usedEarlier), NOW)));
    }

    @Test
    void leavesItsInputAsItWasAndKeepsEveryCandidate() {
        List<EvictionCandidate> candidates = new ArrayList<>(List.of(
                candidate("new", T0, NOW), candidate("old", T0, T0)));
        List<EvictionCandidate> before = List.copyOf(candidates);

        List<EvictionCandidate> ranked = policy.rank(candidates, NOW);

        assertEquals(before, candidates);
        assertEquals(List.of("old", "new"), ids(ranked));
    }

    @Test
    void noCandidatesGiveAnEmptyRanking() {
        assertTrue(policy.rank(List.of(), NOW).isEmpty());
    }

    @Test
    void aMissingListOrCandidateIsAClearError() {
        assertThrows(NullPointerException.class, () -> policy.rank(null, NOW));
        List<EvictionCandidate> withNull = Arrays.asList(candidate("vm-1", T0, T0), null);
        NullPointerException error = assertThrows(NullPointerException.class, () -> policy.rank(withNull, NOW));
        assertTrue(error.getMessage().contains("null eviction candidate"), error.getMessage());
    }

    private static EvictionCandidate candidate(String id, Instant createdAt, Instant lastUsedAt) {
        return new EvictionCandidate(id, createdAt, lastUsedAt, 1, 512L << 20, Duration.ofSeconds(8));
    }

    private static List<String> ids(List<EvictionCandidate> ranked) {
        return ranked.stream().map(EvictionCandidate::id).toList();
    }
}
