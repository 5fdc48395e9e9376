package org.servicefarm.driver.libvirt.internal;

import org.libvirt.DomainInfo.DomainState;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import org.servicefarm.api.VmState;

/** How libvirt's domain states and lifecycle events map onto the farm's resting states. */
final class GuestStates {

    private GuestStates() {
    }

    /**
     * The resting state of a domain as a host connection reports it. A domain that is shut off with no saved
     * state cannot serve nor be restored: FAILED, like a crashed one.
     */
    static VmState restingState(DomainState state, boolean hasSavedState) {
        return switch (state) {
            case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> VmState.ACTIVE;
            case VIR_DOMAIN_PAUSED, VIR_DOMAIN_PMSUSPENDED -> VmState.SLEEPING;
            case VIR_DOMAIN_SHUTOFF -> hasSavedState ? VmState.ARCHIVED : VmState.FAILED;
            case VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_CRASHED, VIR_DOMAIN_NOSTATE -> VmState.FAILED;
        };
    }

    /**
     * The resting state a libvirt lifecycle event leaves a guest in, or {@code null} for events that leave
     * no new resting state (DEFINED, the SHUTDOWN that precedes STOPPED).
     */
    static VmState observedState(DomainEventType type, Object detail) {
        return switch (type) {
            case STARTED, RESUMED -> VmState.ACTIVE;
            case SUSPENDED -> detail == SuspendedDetail.IOERROR || detail == SuspendedDetail.WATCHDOG
                    || detail == SuspendedDetail.API_ERROR ? VmState.FAILED : VmState.SLEEPING;
            case PMSUSPENDED -> VmState.SLEEPING;
            case STOPPED -> detail == StoppedDetail.SAVED ? VmState.ARCHIVED : VmState.FAILED;
            case CRASHED -> VmState.FAILED;
            case UNDEFINED -> VmState.DESTROYED;
            case DEFINED, SHUTDOWN, UNKNOWN -> null;
        };
    }
}
