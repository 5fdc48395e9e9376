package org.servicefarm.eviction.lfu.internal;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionName;
import org.servicefarm.api.eviction.EvictionPolicy;

/**
 * Evicts the least frequently used first: what was asked for the fewest times is the least likely to be asked for
 * again. Every candidate may go; none is left out.
 * <p>
 * Equal use counts are broken by the least recently used first (of two rarely used, the one forgotten longer goes),
 * then by age and id, so the same candidates always come back in the same order.
 */
@Component
@EvictionName("lfu")
public class LfuEviction implements EvictionPolicy {

    private static final Comparator<EvictionCandidate> LEAST_FREQUENTLY_USED_FIRST = Comparator
            .comparingLong(EvictionCandidate::uses)
            .thenComparing(EvictionCandidate::lastUsedAt)
            .thenComparing(EvictionCandidate::createdAt)
            .thenComparing(EvictionCandidate::id);

    @Override
    public List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now) {
        return EvictionPolicy.sorted(candidates, LEAST_FREQUENTLY_USED_FIRST);
    }
}
