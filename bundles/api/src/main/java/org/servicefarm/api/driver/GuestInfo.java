package org.servicefarm.api.driver;

import java.util.Objects;

import org.servicefarm.api.VmState;

/**
 * A farm guest as a host reports it ({@link HostConnection#guests}): its VM id, the resting state it is in, and
 * either what the farm recorded on it at define or why that cannot be read. Reconcile adopts a guest the state
 * table does not know from its record, and removes one without.
 */
public sealed interface GuestInfo permits GuestInfo.Recorded, GuestInfo.Unrecorded {

    String vmId();

    VmState state();

    /** A guest whose farm metadata was read back whole. */
    record Recorded(GuestMetadata metadata, VmState state) implements GuestInfo {
        public Recorded {
            Objects.requireNonNull(metadata, "metadata");
            Objects.requireNonNull(state, "state");
        }

        @Override
        public String vmId() {
            return metadata.vmId();
        }
    }

    /**
     * A guest marked as the farm's whose metadata is missing a part or cannot be read (e.g. written by an older
     * appliance).
     *
     * @param reason what is wrong with its metadata, fit to log
     */
    record Unrecorded(String vmId, VmState state, String reason) implements GuestInfo {
        public Unrecorded {
            Objects.requireNonNull(vmId, "vmId");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
