package org.servicefarm.api;

import java.util.List;
import java.util.Objects;

/** What the directory makes of a request: a viable offering, or the reason there is none. */
public sealed interface Resolution permits Resolution.Viable, Resolution.NotViable {

    /**
     * @param offering the resolved combination
     * @param filledIn the request fields the directory chose, e.g. {@code ["version", "os"]}
     */
    record Viable(Offering offering, List<String> filledIn) implements Resolution {
        public Viable {
            Objects.requireNonNull(offering, "offering");
            filledIn = List.copyOf(filledIn);
        }
    }

    record NotViable(String reason) implements Resolution {
        public NotViable {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
