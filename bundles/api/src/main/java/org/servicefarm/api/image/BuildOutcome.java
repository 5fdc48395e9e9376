package org.servicefarm.api.image;

import java.util.List;
import java.util.Objects;

import org.servicefarm.api.Offering;

/**
 * The answer to a request to build an image ({@link ImageService#build}): exactly one of accepted
 * (the build runs in the background, or the image was at hand) or never (the request resolves to no
 * viable combination). Malformed requests are not outcomes: they raise
 * {@link org.servicefarm.api.InvalidRequestException}.
 */
public sealed interface BuildOutcome permits BuildOutcome.Accepted, BuildOutcome.Never {

    /**
     * The image's build is under way, or it is ready; follow {@code image.id()} for its progress.
     *
     * @param image    the image's status as the build was accepted
     * @param offering the combination the request resolved to
     * @param filledIn the request fields the directory chose, e.g. {@code ["version", "os"]}
     */
    record Accepted(ImageStatus image, Offering offering, List<String> filledIn) implements BuildOutcome {
        public Accepted {
            Objects.requireNonNull(image, "image");
            Objects.requireNonNull(offering, "offering");
            filledIn = filledIn == null ? List.of() : List.copyOf(filledIn);
        }
    }

    /** The request resolves to no viable combination; {@code reason} says why. Nothing is built. */
    record Never(String reason) implements BuildOutcome {
        public Never {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
