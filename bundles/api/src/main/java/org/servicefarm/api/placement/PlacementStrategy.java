package org.servicefarm.api.placement;

import java.util.Iterator;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A soft placement preference: ranks hosts, best first. The core draws from the ranking lazily and takes the first
 * host that passes every {@link HostFilter} and on which it can reserve room, so a strategy never sees, and never
 * has to sort, every host. Exactly one is in force, chosen by configuration ({@code placement.target}) and, among
 * matching ones, by {@code service.ranking}; while none matches, the core ranks by {@link Weigher#LOAD} itself.
 * <p>
 * Most strategies are a blend of weighers: {@code return hosts.ranked(weights, request);}. A ranking must be
 * deterministic for a given farm: state how ties are broken (the view's own ranking breaks them by host name).
 */
@ConsumerType
public interface PlacementStrategy {

    /** Service property (String): the strategy's name, e.g. {@code least-loaded}. */
    String NAME = "placement.name";

    /** The hosts of {@code hosts} in this strategy's order of preference, best first, drawn lazily. */
    Iterator<Candidate> rank(PlacementRequest request, HostView hosts);
}
