package org.servicefarm.api.placement;

import java.util.List;
import java.util.Objects;

/**
 * How a placement was (or would be) decided: what the filters removed, the best candidates with their scores, and
 * the choice.
 *
 * @param strategy   the strategy in force (its {@link PlacementStrategy#NAME}), or what the core used instead
 * @param hosts      how many hosts the farm has
 * @param examined   how many of them the decision looked at one by one (hosts of zones a filter excluded as a whole
 *                   are counted in {@code removed}, not here)
 * @param removed    per filter, how many hosts it removed, with one of its reasons as an example
 * @param candidates the best hosts that passed every filter, best first, with their scores
 * @param chosen     the host chosen, or {@code null} when none can take the VM
 * @param reason     why none was chosen, or {@code null}
 */
public record PlacementExplanation(String strategy, int hosts, int examined, List<Removal> removed,
                                   List<Candidate> candidates, String chosen, String reason) {

    public PlacementExplanation {
        Objects.requireNonNull(strategy, "strategy");
        removed = List.copyOf(removed);
        candidates = List.copyOf(candidates);
    }

    /**
     * Hosts one filter removed.
     *
     * @param filter  the filter's {@link HostFilter#NAME}
     * @param hosts   how many hosts it removed (a host is counted for the first filter that removed it)
     * @param example the reason it gave for one of them
     */
    public record Removal(String filter, int hosts, String example) {
        public Removal {
            Objects.requireNonNull(filter, "filter");
        }
    }
}
