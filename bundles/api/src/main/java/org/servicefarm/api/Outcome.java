package org.servicefarm.api;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The answer to a {@link ServiceRequest}: exactly one of granted (here is where to reach it),
 * retry later (it is being prepared), or never (the combination is not viable). Malformed
 * requests are not outcomes: they raise {@link InvalidRequestException}.
 */
public sealed interface Outcome permits Outcome.Granted, Outcome.RetryLater, Outcome.Never {

    /** How long the manager worked on the request before answering. */
    Duration elapsed();

    /**
     * How a VM {@link Activation#CREATED created} for a request came to run.
     *
     * @since 1.3
     */
    enum Start {
        /** It booted its image's kernel, and its services started from scratch. */
        BOOT,
        /** It restored a checkpoint of its image: a guest booted and saved once, its services already running. */
        CHECKPOINT
    }

    /**
     * The service is reachable at {@code endpoint}.
     *
     * @param vmId     the VM that serves it; {@code null} for a service its host runs itself ({@link Activation#NATIVE})
     * @param hostId   the host the VM runs on, or the host that runs the service itself
     * @param offering the combination that was granted, with every field the request left out filled in
     * @param filledIn the request fields the directory chose, e.g. {@code ["version", "os"]}
     * @param start    for a VM {@link Activation#CREATED created} for the request (or one it joined): whether it
     *                 booted or restored a checkpoint; {@code null} for any other activation
     */
    record Granted(Endpoint endpoint, String vmId, String hostId, Activation activation, Offering offering,
                   List<String> filledIn, Duration elapsed, Start start) implements Outcome {
        public Granted {
            Objects.requireNonNull(endpoint, "endpoint");
            Objects.requireNonNull(activation, "activation");
            if ((vmId == null) != (activation == Activation.NATIVE)) {
                throw new IllegalArgumentException(activation == Activation.NATIVE
                        ? "a service its host runs itself has no VM, not " + vmId : "a grant of a VM needs its id");
            }
            filledIn = filledIn == null ? List.of() : List.copyOf(filledIn);
            if (start != null && activation != Activation.CREATED) {
                throw new IllegalArgumentException("only a CREATED VM has a start path, not " + activation);
            }
        }

        /** A grant that says nothing of how its VM started (any VM that was not created for it). */
        public Granted(Endpoint endpoint, String vmId, String hostId, Activation activation, Offering offering,
                       List<String> filledIn, Duration elapsed) {
            this(endpoint, vmId, hostId, activation, offering, filledIn, elapsed, null);
        }
    }

    /**
     * The service is being prepared and will be there after about {@code retryAfter}; the work
     * goes on after this answer.
     *
     * @param offering    the combination being prepared, or {@code null} if the request never got that far
     * @param filledIn    the request fields the directory chose (empty without an offering)
     * @param detail      what the manager is doing, or why it cannot answer yet
     * @param retryTicket what the client sends back when it asks again ({@link ServiceRequest#retryTicket}), so that
     *                    its retry is not counted as a new request; {@code null} when there is none
     */
    record RetryLater(Duration retryAfter, Offering offering, List<String> filledIn, String detail, Duration elapsed,
                      String retryTicket) implements Outcome {
        public RetryLater {
            Objects.requireNonNull(retryAfter, "retryAfter");
            filledIn = filledIn == null ? List.of() : List.copyOf(filledIn);
        }

        /** An answer without a retry ticket. */
        public RetryLater(Duration retryAfter, Offering offering, List<String> filledIn, String detail,
                          Duration elapsed) {
            this(retryAfter, offering, filledIn, detail, elapsed, null);
        }

        /**
         * This answer with the ticket a retry of it sends back.
         *
         * @since 1.6
         */
        public RetryLater withRetryTicket(String ticket) {
            return new RetryLater(retryAfter, offering, filledIn, detail, elapsed, ticket);
        }

        /** Whole seconds to wait, at least one (HTTP's Retry-After has second granularity). */
        public long retryAfterSeconds() {
            return Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        }
    }

    /** The combination is not viable and will never be available; {@code reason} says why. */
    record Never(String reason, Duration elapsed) implements Outcome {
        public Never {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
