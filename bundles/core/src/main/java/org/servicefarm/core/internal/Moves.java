package org.servicefarm.core.internal;

import static org.servicefarm.api.VmState.ACTIVE;
import static org.servicefarm.api.VmState.ARCHIVED;
import static org.servicefarm.api.VmState.ARCHIVING;
import static org.servicefarm.api.VmState.CREATING;
import static org.servicefarm.api.VmState.DESTROYED;
import static org.servicefarm.api.VmState.DESTROYING;
import static org.servicefarm.api.VmState.FAILED;
import static org.servicefarm.api.VmState.RESTORING;
import static org.servicefarm.api.VmState.RESUMING;
import static org.servicefarm.api.VmState.SLEEPING;
import static org.servicefarm.api.VmState.STARTING;
import static org.servicefarm.api.VmState.SUSPENDING;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.servicefarm.api.VmState;

/**
 * The legal moves of a VM, and nothing else: the state table refuses any other. Besides the manager's own moves
 * (into a transitional state and out of it, forward or back when the step failed), a hypervisor may report a resting
 * VM in another resting state (resumed, paused or stopped behind the farm's back), FAILED or gone (DESTROYED) from
 * any state; and a failed VM is destroyed.
 */
final class Moves {

    private static final Map<VmState, Set<VmState>> LEGAL = new EnumMap<>(VmState.class);

    static {
        allow(CREATING, STARTING, DESTROYING);
        allow(STARTING, ACTIVE, DESTROYING);
        // ACTIVE, SLEEPING and ARCHIVED may also be seen in one another by the hypervisor (moved behind our back)
        allow(ACTIVE, SUSPENDING, ARCHIVING, DESTROYING, SLEEPING, ARCHIVED);
        allow(SUSPENDING, SLEEPING, ACTIVE);
        allow(SLEEPING, RESUMING, ARCHIVING, DESTROYING, ACTIVE, ARCHIVED);
        allow(RESUMING, ACTIVE, SLEEPING);
        // from ARCHIVED, ARCHIVING moves an archive into another tier (or to another host)
        allow(ARCHIVING, ARCHIVED, ACTIVE, SLEEPING);
        allow(ARCHIVED, RESTORING, ARCHIVING, DESTROYING, ACTIVE, SLEEPING);
        allow(RESTORING, ACTIVE, ARCHIVED);
        allow(DESTROYING);
        allow(FAILED, DESTROYING);
        allow(DESTROYED);
        for (VmState from : VmState.values()) {
            if (from != DESTROYED) {
                // a VM may fail or vanish in any state but gone
                LEGAL.get(from).add(FAILED);
                LEGAL.get(from).add(DESTROYED);
                LEGAL.get(from).remove(from);
            }
        }
    }

    private Moves() {
    }

    private static void allow(VmState from, VmState... to) {
        Set<VmState> targets = EnumSet.noneOf(VmState.class);
        targets.addAll(Set.of(to));
        LEGAL.put(from, targets);
    }

    /** Whether a VM in {@code state} is being brought into service: created, resumed or restored. */
    static boolean comingUp(VmState state) {
        return state == CREATING || state == STARTING || state == RESUMING || state == RESTORING;
    }

    /** Whether a VM may move from {@code from} to {@code to}. */
    static boolean legal(VmState from, VmState to) {
        return LEGAL.get(from).contains(to);
    }
}
