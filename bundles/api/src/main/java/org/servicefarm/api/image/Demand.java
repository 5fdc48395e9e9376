package org.servicefarm.api.image;

import java.time.Duration;
import java.util.Objects;

import org.servicefarm.api.Offering;

/**
 * How often an offering was asked for over the popularity tracker's sliding window.
 *
 * @param offering      the combination
 * @param requests      requests resolved to it within the last {@code window}
 * @param window        the length of the sliding window
 * @param threshold     the request count at which its image is built ahead of demand
 * @param prebuiltImage the image the tracker asked the image store to build when the count last reached the
 *                      threshold, or {@code null} if it never did
 */
public record Demand(Offering offering, long requests, Duration window, long threshold, String prebuiltImage) {

    public Demand {
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(window, "window");
    }
}
