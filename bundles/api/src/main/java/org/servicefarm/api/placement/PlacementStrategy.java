package org.servicefarm.api.placement;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.HostStatus;

/**
 * A soft placement preference: picks one host among the candidates every filter accepted.
 * Exactly one is in force, chosen by configuration ({@code placement.target}) and, among
 * matching ones, by {@code service.ranking}.
 */
@ConsumerType
public interface PlacementStrategy {

    /** Service property (String): the strategy's name, e.g. {@code least-loaded}. */
    String NAME = "placement.name";

    /** The host to place on, or empty if none of the candidates will do. Candidates are never empty. */
    Optional<HostStatus> choose(PlacementRequest request, List<HostStatus> candidates);
}
