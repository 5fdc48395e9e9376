package org.servicefarm.api.placement;

import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.HostStatus;

/**
 * A hard placement constraint. Every registered filter applies; a host any filter rejects is not a candidate. The
 * core checks a host's filters again on its latest state at the moment it reserves room there, so what a filter
 * reads of {@link HostStatus} holds for the VM placed.
 * <p>
 * A filter is called for each host the strategy's ranking draws, in order of {@link #COST} (cheapest first), so
 * {@link #reject} must be cheap: constant time, no I/O. A filter that can tell from a host's zone alone says so in
 * {@link #admitsZone}, and the core leaves whole zones out of view.
 */
@ConsumerType
public interface HostFilter {

    /** Service property (String): the filter's name, shown in explanations. */
    String NAME = "filter.name";

    /** Service property (Integer): how costly the filter is; cheaper filters run first. 100 when not set. */
    String COST = "filter.cost";

    /** Empty if {@code host} may take the VM, otherwise the reason it may not. */
    Optional<String> reject(HostStatus host, PlacementRequest request);

    /**
     * False when no host of security zone {@code zone} may take the VM whatever its state, so the core need not
     * look at the zone's hosts at all. The default admits every zone.
     */
    default boolean admitsZone(String zone, PlacementRequest request) {
        return true;
    }
}
