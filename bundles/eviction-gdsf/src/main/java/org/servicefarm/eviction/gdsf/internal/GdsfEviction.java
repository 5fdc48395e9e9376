package org.servicefarm.eviction.gdsf.internal;

import java.time.Instant;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ServiceScope;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionName;
import org.servicefarm.api.eviction.EvictionPolicy;
import org.servicefarm.api.eviction.GreedyDual;

/**
 * GreedyDual-Size-Frequency (Cherkasova, 1998): what is cheap to have again, large, and rarely used goes
 * first; what is expensive to rebuild, small and popular stays, even when it was not used lately.
 * <p>
 * The GreedyDual ranking ({@link GreedyDual}) with the value {@code F × C / S}: each candidate has a priority
 * {@code H = L + F × C / S}: {@code F} its uses (at least 1), {@code C} its
 * rebuild cost in seconds (at least 1 ms), {@code S} its size in MiB (at least one byte). The lowest
 * priority goes first. {@code L}, the clock, starts at 0 and inflates to the priority of what goes: a
 * candidate's priority is computed when it is first seen and again whenever it was used since (its uses or
 * last use changed), with the clock as it is then, so what was popular long ago ages out against what is
 * used now. The caller evicts from the front of a ranking, so the clock is raised to the first-ranked
 * candidate's priority at each ranking (never lowered); a ranking that evicts nothing leaves it there,
 * which is harmless: the clock never exceeds the priority of a candidate ranked.
 * <p>
 * Equal priorities are broken by the least recently used first, then the larger first (it frees more),
 * then by id, so the same candidates always come back in the same order.
 * <p>
 * The clock and priorities are state: the service is bundle-scoped, so the VM cap (the core) and the image
 * cache (the images bundle) each get their own instance and never mix VM memory with image bytes.
 */
@Component(scope = ServiceScope.BUNDLE)
@EvictionName("gdsf")
public class GdsfEviction implements EvictionPolicy {

    private static final double MIB = 1 << 20;
    /** A priority is forgotten when its candidate was absent from this many rankings in a row. */
    static final int FORGET_AFTER_RANKINGS = GreedyDual.FORGET_AFTER_RANKINGS;

    private final GreedyDual ranking = new GreedyDual(GdsfEviction::value);

    @Override
    public List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now) {
        return ranking.rank(candidates, now);
    }

    /** {@code F × C / S}: uses times rebuild seconds per MiB. */
    static double value(EvictionCandidate candidate) {
        double frequency = Math.max(1, candidate.uses());
        double costSeconds = Math.max(1, candidate.rebuildCost().toMillis()) / 1000.0;
        double sizeMiB = Math.max(1, candidate.sizeBytes()) / MIB;
        return frequency * costSeconds / sizeMiB;
    }

    /** The clock, {@code L}: the priority of the last first-ranked candidate. */
    double clock() {
        return ranking.clock();
    }

    /** The priority last computed for a candidate, or NaN. */
    double priority(String id) {
        return ranking.priority(id);
    }
}
