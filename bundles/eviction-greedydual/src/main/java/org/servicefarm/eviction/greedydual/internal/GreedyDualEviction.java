package org.servicefarm.eviction.greedydual.internal;

import java.time.Instant;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ServiceScope;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionName;
import org.servicefarm.api.eviction.EvictionPolicy;
import org.servicefarm.api.eviction.GreedyDual;

/**
 * GreedyDual-Frequency for the VM cap: a VM's priority is {@code H = L + F × C}, {@code F} its grants (at least 1) and
 * {@code C} the seconds it would take to bring it back ({@link EvictionCandidate#rebuildCost()}: a restore from its
 * archive, or a creation when victims are destroyed); the lowest goes first, and the aging clock {@code L} makes
 * recency count ({@link GreedyDual}). Size is left out: the cap counts VMs, not bytes (the image cache's GDSF divides by
 * size). The clock is state: the service is bundle-scoped, so each user has its own.
 */
@Component(scope = ServiceScope.BUNDLE)
@EvictionName("greedydual")
public class GreedyDualEviction implements EvictionPolicy {

    private final GreedyDual ranking = new GreedyDual(GreedyDualEviction::value);

    @Override
    public List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now) {
        return ranking.rank(candidates, now);
    }

    /** {@code F × C}: grants times the seconds to bring it back. */
    static double value(EvictionCandidate candidate) {
        return Math.max(1, candidate.uses()) * Math.max(1, candidate.rebuildCost().toMillis()) / 1000.0;
    }

    double clock() {
        return ranking.clock();
    }
}
