package org.servicefarm.eviction.gdsf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionPolicy;
import org.servicefarm.eviction.lru.internal.LruEviction;

class GdsfEvictionTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant NOW = T0.plus(Duration.ofHours(2));
    private static final long MIB = 1 << 20;

    private final GdsfEviction gdsf = new GdsfEviction();

    private static EvictionCandidate image(String id, long mib, Duration cost, long uses, Instant lastUsed) {
        return new EvictionCandidate(id, T0, lastUsed, uses, mib * MIB, cost);
    }

    private static List<String> ids(List<EvictionCandidate> ranked) {
        return ranked.stream().map(EvictionCandidate::id).toList();
    }

    @Test
    void keepsTheSmallPopularExpensiveImageWhereLruWouldNot() {
        // the wiki image: 25 MiB, 40 s to build, asked for 30 times, but not in the last hour
        EvictionCandidate popular = image("small-popular-expensive", 25, Duration.ofSeconds(40), 30,
                NOW.minus(Duration.ofHours(1)));
        // a one-off: 400 MiB, 2 s to rebuild (hard links and a cat), used once, a minute ago
        EvictionCandidate oneOff = image("large-rare-cheap", 400, Duration.ofSeconds(2), 1, NOW.minusSeconds(60));
        List<EvictionCandidate> both = List.of(popular, oneOff);

        assertEquals(List.of("large-rare-cheap", "small-popular-expensive"), ids(gdsf.rank(both, NOW)));
        assertEquals(List.of("small-popular-expensive", "large-rare-cheap"), ids(new LruEviction().rank(both, NOW)),
                "LRU would evict the popular image");
    }

    @Test
    void thePriorityIsTheClockPlusFrequencyTimesCostOverSize() {
        EvictionCandidate c = image("a", 10, Duration.ofSeconds(5), 4, NOW);
        assertEquals(4 * 5.0 / 10, GdsfEviction.value(c), 1e-9);
        gdsf.rank(List.of(c), NOW);
        assertEquals(2.0, gdsf.priority("a"), 1e-9, "L = 0 at first");
        assertEquals(2.0, gdsf.clock(), 1e-9, "the clock inflates to the first-ranked's priority");
        // never used, no cost, no size: counted as once, 1 ms, one byte
        EvictionCandidate empty = new EvictionCandidate("e", T0, null, 0, 0, null);
        assertEquals(0.001 * MIB, GdsfEviction.value(empty), 1e-6);
    }

    @Test
    void theClockAgesOutWhatWasPopularLongAgo() {
        EvictionCandidate stale = image("stale", 10, Duration.ofSeconds(10), 10, T0); // value 10
        Map<String, EvictionCandidate> cache = new LinkedHashMap<>();
        cache.put("stale", stale);
        // one new image after another, each used once and evicted again: each eviction raises the clock
        for (int i = 0; i < 30; i++) {
            EvictionCandidate fresh = image("fresh-" + i, 10, Duration.ofSeconds(5), 1, T0.plusSeconds(i)); // value 0.5
            cache.put(fresh.id(), fresh);
            List<EvictionCandidate> ranked = gdsf.rank(List.copyOf(cache.values()), NOW);
            cache.remove(ranked.get(0).id());
            if (!cache.containsKey("stale")) {
                assertTrue(i > 10, "kept while the clock was below its priority, evicted at round " + i);
                assertTrue(gdsf.clock() >= 10, "the clock reached the stale image's priority: " + gdsf.clock());
                return;
            }
        }
        throw new AssertionError("the stale image was never evicted: the clock did not inflate");
    }

    @Test
    void aCandidateUsedAgainIsPricedAtTheCurrentClock() {
        EvictionCandidate a = image("a", 10, Duration.ofSeconds(10), 1, T0); // value 1
        EvictionCandidate b = image("b", 10, Duration.ofSeconds(30), 1, T0); // value 3
        gdsf.rank(List.of(a, b), NOW); // clock -> 1
        EvictionCandidate aUsed = image("a", 10, Duration.ofSeconds(10), 2, NOW); // value 2, priority 1 + 2
        assertEquals(List.of("b", "a"), ids(gdsf.rank(List.of(aUsed, b), NOW)), "3 (b, unchanged) < 3 (a)? tie");
        assertEquals(3.0, gdsf.priority("a"), 1e-9);
        assertEquals(3.0, gdsf.priority("b"), 1e-9);
    }

    @Test
    void tiesGoToTheLeastRecentlyUsedThenTheLargerThenTheId() {
        EvictionCandidate older = new EvictionCandidate("z-older", T0, T0, 1, 10 * MIB, Duration.ofSeconds(1));
        EvictionCandidate newer = new EvictionCandidate("a-newer", T0, T0.plusSeconds(5), 1, 10 * MIB,
                Duration.ofSeconds(1));
        assertEquals(List.of("z-older", "a-newer"), ids(new GdsfEviction().rank(List.of(newer, older), NOW)));

        // the same priority (F x C / S equal), the same last use: the larger frees more
        EvictionCandidate small = new EvictionCandidate("small", T0, T0, 1, 10 * MIB, Duration.ofSeconds(1));
        EvictionCandidate large = new EvictionCandidate("large", T0, T0, 2, 20 * MIB, Duration.ofSeconds(1));
        assertEquals(List.of("large", "small"), ids(new GdsfEviction().rank(List.of(small, large), NOW)));

        EvictionCandidate b = new EvictionCandidate("b", T0, T0, 1, MIB, Duration.ofSeconds(1));
        EvictionCandidate a = new EvictionCandidate("a", T0, T0, 1, MIB, Duration.ofSeconds(1));
        assertEquals(List.of("a", "b"), ids(new GdsfEviction().rank(List.of(b, a), NOW)));
        assertEquals(List.of("a", "b"), ids(new GdsfEviction().rank(List.of(a, b), NOW)));
    }

    @Test
    void leavesItsInputAsItWasAndRefusesNulls() {
        List<EvictionCandidate> input = new ArrayList<>(List.of(image("x", 100, Duration.ofSeconds(1), 1, NOW),
                image("y", 1, Duration.ofSeconds(100), 9, T0)));
        List<EvictionCandidate> before = List.copyOf(input);
        assertEquals(List.of("x", "y"), ids(gdsf.rank(input, NOW)));
        assertEquals(before, input);
        assertTrue(gdsf.rank(List.of(), NOW).isEmpty());
        assertThrows(NullPointerException.class, () -> gdsf.rank(null, NOW));
        assertThrows(NullPointerException.class, () -> gdsf.rank(Arrays.asList(image("x", 1, Duration.ZERO, 1, NOW),
                null), NOW));
    }

    @Test
    void forgetsCandidatesItHasNotSeenForAHundredRankings() {
        gdsf.rank(List.of(image("gone", 1, Duration.ofSeconds(1), 1, T0)), NOW);
        for (int i = 0; i < GdsfEviction.FORGET_AFTER_RANKINGS; i++) {
            gdsf.rank(List.of(image("other", 1, Duration.ofSeconds(1), 1, T0)), NOW);
        }
        assertTrue(Double.isNaN(gdsf.priority("gone")));
    }

    /**
     * A cache of 160 MiB over a trace: four small images (20 MiB, 60 s to build) asked for most of the time,
     * and a stream of large one-off images (60 MiB, 3 s): GDSF spends less time rebuilding than LRU.
     */
    @Test
    void spendsLessTimeRebuildingThanLruOnATraceOfPopularSmallAndRareLargeImages() {
        long gdsf = rebuildSeconds(new GdsfEviction());
        long lru = rebuildSeconds(new LruEviction());
        System.out.println("rebuild time over the trace: GDSF " + gdsf + " s, LRU " + lru + " s");
        assertTrue(gdsf < lru / 2,
                "GDSF " + gdsf + " s against LRU " + lru + " s");
    }

    private static long rebuildSeconds(EvictionPolicy policy) {
        Random random = new Random(42);
        Map<String, EvictionCandidate> cache = new HashMap<>();
        long budget = 160 * MIB;
        long seconds = 0;
        Instant now = T0;
        for (int i = 0; i < 2000; i++) {
            now = now.plusSeconds(10);
            boolean popular = random.nextInt(10) < 7;
            String id = popular ? "small-" + random.nextInt(4) : "large-" + i;
            long size = (popular ? 20 : 60) * MIB;
            Duration cost = Duration.ofSeconds(popular ? 60 : 3);
            EvictionCandidate hit = cache.get(id);
            if (hit != null) {
                cache.put(id, new EvictionCandidate(id, hit.createdAt(), now, hit.uses() + 1, size, cost));
                continue;
            }
            seconds += cost.toSeconds();
            while (cache.values().stream().mapToLong(EvictionCandidate::sizeBytes).sum() + size > budget) {
                cache.remove(policy.rank(List.copyOf(cache.values()), now).get(0).id());
            }
            cache.put(id, new EvictionCandidate(id, now, now, 1, size, cost));
        }
        return seconds;
    }
}
