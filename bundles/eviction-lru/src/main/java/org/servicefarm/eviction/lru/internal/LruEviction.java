package org.servicefarm.eviction.lru.internal;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionName;
import org.servicefarm.api.eviction.EvictionPolicy;

/**
 * Evicts the least recently used first: what nobody has asked for the longest is the least
 * likely to be asked for next. Every candidate may go; none is left out.
 * <p>
 * Equal last use is broken by age (the older goes first, having had its chance longer) and
 * then by id, so the same candidates always come back in the same order.
 */
@Component
@EvictionName("lru")
public class LruEviction implements EvictionPolicy {

    private static final Comparator<EvictionCandidate> LEAST_RECENTLY_USED_FIRST = Comparator
            .comparing(EvictionCandidate::lastUsedAt)
            .thenComparing(EvictionCandidate::createdAt)
            .thenComparing(EvictionCandidate::id);

    @Override
    public List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now) {
        return EvictionPolicy.sorted(candidates, LEAST_RECENTLY_USED_FIRST);
    }
}
