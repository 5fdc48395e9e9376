package org.servicefarm.api;

import java.time.Instant;

/**
 * How a host's driver has been answering: the failures in a row since its last success or (re)connection.
 * Placement skips a host that keeps failing until a back-off has passed; one success clears the count.
 *
 * @param consecutiveFailures driver calls that failed in a row; 0 when healthy
 * @param lastFailureAt       when the last of them failed, or {@code null}
 * @param lastFailure         what it said (a bounded excerpt), or {@code null}
 */
public record HostHealth(int consecutiveFailures, Instant lastFailureAt, String lastFailure) {

    public static final HostHealth HEALTHY = new HostHealth(0, null, null);

    public HostHealth {
        if (consecutiveFailures < 0) {
            throw new IllegalArgumentException("consecutiveFailures must not be negative: " + consecutiveFailures);
        }
    }

    /** This health after one more failed call at {@code when}. */
    public HostHealth failed(Instant when, String why) {
        return new HostHealth(consecutiveFailures + 1, when, why);
    }
}
