package org.servicefarm.api.keepalive;

import java.time.Instant;
import java.util.Objects;

import org.servicefarm.api.Offering;

/**
 * What the keep-alive policy in force has learned of one combination and plans for it, for operators: when its VM is
 * next wanted in memory, and why.
 *
 * @param offering    the combination
 * @param lastRequest its last request the policy was told of
 * @param idleTimes   how many idle times between its requests the policy has learned from
 * @param warmFrom    from when the policy next wants a VM of it in memory (now or earlier: wanted now); {@code null}
 *                    when none is wanted again until its next request
 * @param warmUntil   until when; {@code null} with {@code warmFrom}
 * @param reading     the policy's reading of the combination's requests, in words (e.g. "a timer: idle times 7 min 45 s
 *                    to 8 min 15 s")
 */
public record KeepAliveOutlook(Offering offering, Instant lastRequest, long idleTimes, Instant warmFrom,
                               Instant warmUntil, String reading) {
    public KeepAliveOutlook {
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(lastRequest, "lastRequest");
        Objects.requireNonNull(reading, "reading");
        if ((warmFrom == null) != (warmUntil == null)) {
            throw new IllegalArgumentException("warmFrom and warmUntil come together");
        }
        if (warmFrom != null && warmUntil.isBefore(warmFrom)) {
            throw new IllegalArgumentException("warmUntil before warmFrom");
        }
    }
}
