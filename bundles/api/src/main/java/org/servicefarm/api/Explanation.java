package org.servicefarm.api;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.reuse.ReuseExplanation;

/**
 * What the manager would do with a request now, worked out without doing it: nothing is created, reserved or
 * changed.
 *
 * @param offering  the combination the request resolves to, or {@code null} when it is not viable
 * @param filledIn  the request fields the directory chose
 * @param action    what the manager would do, in words, e.g. {@code reuse VM sf-… on gamma (ACTIVE)} or
 *                  {@code create a VM on host gamma}
 * @param placement how the host for a new VM would be chosen, or {@code null} when no VM would be created
 * @param reuse     which reuse policy decided between the offering's VMs and a new one, and why; {@code null} when
 *                  the request is not viable
 * @param elapsed   how long working it out took
 */
public record Explanation(Offering offering, List<String> filledIn, String action, PlacementExplanation placement,
                          ReuseExplanation reuse, Duration elapsed) {

    public Explanation {
        Objects.requireNonNull(action, "action");
        filledIn = filledIn == null ? List.of() : List.copyOf(filledIn);
    }

    /** An explanation without a reuse decision. */
    public Explanation(Offering offering, List<String> filledIn, String action, PlacementExplanation placement,
                       Duration elapsed) {
        this(offering, filledIn, action, placement, null, elapsed);
    }
}
