package org.servicefarm.api.eviction;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * The GreedyDual family of rankings (Young; Cao and Irani; Cherkasova), one piece of code for every member: each
 * candidate has a priority {@code H = L + value(candidate)}, the lowest goes first, and {@code L}, the clock, starts at
 * 0 and inflates to the priority of what goes, so what was valuable long ago ages out against what is used now
 * (recency without a timestamp). The members differ only in {@code value}: GDSF's {@code F × C / S} (uses, cost to have
 * again, size) for the image cache, GreedyDual-Frequency's {@code F × C} for the VM cap (which counts VMs, not bytes).
 * <p>
 * A candidate's priority is computed when it is first seen and again whenever it was used since (its uses or last use
 * changed), with the clock as it is then. The caller evicts from the front of a ranking, so the clock is raised to the
 * first-ranked candidate's priority at each ranking (never lowered). Equal priorities are broken by the least recently
 * used first, then the larger first (it frees more), then by id. Thread-safe; keep one per use (VM cap, image cache).
 */
public final class GreedyDual {

    /** A priority is forgotten when its candidate was absent from this many rankings in a row. */
    public static final int FORGET_AFTER_RANKINGS = 100;

    /** What was known of a candidate when its priority was last computed. */
    private record Known(long uses, Instant lastUsedAt, double priority, long seenAt) {
    }

    private final ToDoubleFunction<EvictionCandidate> value;
    private final Map<String, Known> known = new HashMap<>();
    private double clock;
    private long rankings;

    /** @param value what keeping a candidate is worth: the higher, the later it goes */
    public GreedyDual(ToDoubleFunction<EvictionCandidate> value) {
        this.value = Objects.requireNonNull(value, "value");
    }

    /** Ranks the candidates, the first to evict first; {@code candidates} is left as it is. */
    public synchronized List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now) {
        Objects.requireNonNull(candidates, "candidates");
        rankings++;
        Map<String, Double> priorities = new HashMap<>();
        for (EvictionCandidate candidate : candidates) {
            Objects.requireNonNull(candidate, "a null eviction candidate");
            Known before = known.get(candidate.id());
            Known current = before != null && before.uses() == candidate.uses()
                    && before.lastUsedAt().equals(candidate.lastUsedAt())
                    ? new Known(before.uses(), before.lastUsedAt(), before.priority(), rankings)
                    : new Known(candidate.uses(), candidate.lastUsedAt(), clock + value.applyAsDouble(candidate),
                    rankings);
            known.put(candidate.id(), current);
            priorities.put(candidate.id(), current.priority());
        }
        List<EvictionCandidate> ranked = new ArrayList<>(candidates);
        ranked.sort(Comparator.comparingDouble((EvictionCandidate c) -> priorities.get(c.id()))
                .thenComparing(EvictionCandidate::lastUsedAt)
                .thenComparing(EvictionCandidate::sizeBytes, Comparator.reverseOrder())
                .thenComparing(EvictionCandidate::id));
        if (!ranked.isEmpty()) {
            clock = Math.max(clock, priorities.get(ranked.get(0).id()));
        }
        known.values().removeIf(k -> rankings - k.seenAt() >= FORGET_AFTER_RANKINGS);
        return List.copyOf(ranked);
    }

    /** The clock, {@code L}: the priority of the last first-ranked candidate. */
    public synchronized double clock() {
        return clock;
    }

    /** The priority last computed for a candidate, or NaN. */
    public synchronized double priority(String id) {
        Known k = known.get(id);
        return k == null ? Double.NaN : k.priority();
    }
}
