package org.servicefarm.api.keepalive;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;

/**
 * Decides how long VMs stay in memory after use, where they rest afterwards, and which combinations get a VM ready
 * before their next request. Exactly one policy is in force, chosen by the lifecycle's configuration
 * ({@code policy.target}); it can be swapped at run time. The lifecycle tells it of every request and, on each sweep,
 * asks it what is due for every resting VM and what to pre-warm, and carries out the answers through the core's own
 * operations: a policy never acts itself. Calls come from the request path's threads ({@link #requested}) and the
 * lifecycle's thread (the others), so an implementation must be thread-safe; {@link #requested} must return at once.
 */
@ConsumerType
public interface KeepAlivePolicy {

    /** Service property (String): the policy's name, e.g. {@code fixed}. */
    String NAME = "keepalive.name";

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
            if (action == Action.ARCHIVE) {
                Objects.requireNonNull(tier, "an archive needs a tier");
            }
        }
    }

    /**
     * What the lifecycle knows of a VM beside its record when it asks what is due for it.
     *
     * @param offeringRequestsPerMinute how often the VM's offering is asked for now, whichever VM serves it
     * @param checkpointed              whether a host that takes new VMs holds a checkpoint of the VM's image: a new
     *                                  VM of the offering then starts from it (in about 0.2 s on the qemu driver,
     *                                  faster than an archive is restored) without an archive of its own, so the VM
     *                                  can rest as that checkpoint (be destroyed) instead of being archived
     */
    record Context(double offeringRequestsPerMinute, boolean checkpointed) {
    }

    /**
     * A request for {@code offering} (viable) arrived at {@code at}, before it is served. Policies that learn from
     * the times between requests record it here; the default ignores it.
     */
    default void requested(Offering offering, Instant at) {
    }

    /**
     * Whether the requests told to {@link #requested} change what this policy decides. One that says no (fixed
     * timers) is not taught the farm's recent requests when it comes into force, which costs a read of the store's
     * counts of a day. The default says yes.
     */
    default boolean learnsFromRequests() {
        return true;
    }

    /**
     * What is due for {@code vm} (ACTIVE, SLEEPING or ARCHIVED) at {@code now}.
     *
     * @param offeringRequestsPerMinute how often the VM's offering is asked for now, whichever VM serves it
     * @return the move, or empty to leave it as it is
     */
    Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute);

    /**
     * What is due for {@code vm} at {@code now}, knowing its {@link Context}: the lifecycle asks this. The default
     * ignores whether its image is checkpointed.
     *
     * @since 1.3
     */
    default Optional<Due> due(VmRecord vm, Instant now, Context context) {
        return due(vm, now, context.offeringRequestsPerMinute());
    }

    /**
     * The combinations whose image is worth a checkpoint on the hosts that make them, so that their VMs can rest as
     * it (see {@link Context#checkpointed()}) instead of being archived and restored again and again. The lifecycle
     * has the hosts make it in the background, once (again only if it is gone). The default asks for none: popular
     * combinations are checkpointed anyway.
     *
     * @since 1.3
     */
    default List<Offering> checkpoint(Instant now) {
        return List.of();
    }

    /**
     * The combinations that should have a VM ready (ACTIVE or SLEEPING) now because a request is expected soon. The
     * lifecycle brings one into service for each that has none, the cheapest way (resume, restore, create), and the
     * policy decides how far ahead of the request it asks. The default pre-warms nothing.
     */
    default List<Offering> prewarm(Instant now) {
        return List.of();
    }

    /**
     * What the policy has learned of each combination it was told of and plans for it at {@code now}, for operators
     * ({@link KeepAliveView}). A policy that learns nothing per combination (fixed timers) lists none, the default.
     */
    default List<KeepAliveOutlook> outlook(Instant now) {
        return List.of();
    }
}
