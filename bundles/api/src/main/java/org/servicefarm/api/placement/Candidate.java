package org.servicefarm.api.placement;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

import org.servicefarm.api.HostStatus;

/**
 * A host as a strategy ranks it.
 *
 * @param host   the host as it was when ranked
 * @param score  from 0 (worst) to 1 (best): one minus the weighted mean of its weighers' penalties
 * @param scores each weigher's own score of it (one minus its penalty), for explanations
 */
public record Candidate(HostStatus host, double score, Map<Weigher, Double> scores) {

    public Candidate {
        Objects.requireNonNull(host, "host");
        scores = scores == null || scores.isEmpty() ? Map.of()
                : Collections.unmodifiableMap(new EnumMap<>(scores));
    }

    public String name() {
        return host.name();
    }
}
