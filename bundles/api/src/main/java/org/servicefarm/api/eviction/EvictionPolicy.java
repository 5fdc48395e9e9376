package org.servicefarm.api.eviction;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides what goes first when space or a cap runs out. One policy is in force for the VM cap
 * and one for the image store, each chosen by configuration.
 */
@ConsumerType
public interface EvictionPolicy {

    /** Service property (String): the policy's name, e.g. {@code lru}. */
    String NAME = "eviction.name";

    /**
     * Orders the candidates, the first to evict first. May leave out candidates it would
     * never evict. Must not modify {@code candidates}.
     */
    List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now);

    /**
     * A ranking by one fixed order, for policies that are one: every candidate kept, sorted by {@code order} in a
     * copy (the caller's list is left as it was).
     *
     * @throws NullPointerException if {@code candidates} or one of them is null
     * @since 1.1
     */
    static List<EvictionCandidate> sorted(List<EvictionCandidate> candidates, Comparator<EvictionCandidate> order) {
        Objects.requireNonNull(candidates, "candidates");
        return candidates.stream()
                .map(candidate -> Objects.requireNonNull(candidate, "a null eviction candidate"))
                .sorted(order)
                .toList();
    }
}
