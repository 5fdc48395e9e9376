package org.servicefarm.core.internal;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.VmRecord;

/**
 * The lifecycle's decision for one VM: what, if anything, is due now (sleep, archive in a tier, destroy) and why. The
 * lifecycle asks it for every resting VM on each sweep and carries out what it answers; it never acts itself. Fixed
 * timers ({@link FixedTimers}) are the one policy today; a keep-alive SPI of its own (histogram, adaptive) replaces
 * this interface by one in the API with the same shape.
 */
interface KeepAlive {

    /** What the lifecycle does to a VM. */
    enum Action { SLEEP, ARCHIVE, DESTROY }

    /**
     * A move due now.
     *
     * @param tier   for ARCHIVE, the tier (an ARCHIVED VM moves to another tier)
     * @param reason why, logged with the move and kept as the VM's detail
     */
    record Due(Action action, ArchiveTier tier, String reason) {
        public Due {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * What is due for {@code vm} (ACTIVE, SLEEPING or ARCHIVED) at {@code now}.
     *
     * @param offeringRequestsPerMinute how often the VM's offering is asked for now, whichever VM serves it: the
     *                                  manager's knowledge that a service is in demand
     * @return the move, or empty to leave it as it is
     */
    Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute);
}
