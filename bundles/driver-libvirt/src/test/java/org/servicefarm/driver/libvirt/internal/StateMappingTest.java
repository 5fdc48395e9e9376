package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.event.DefinedDetail;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.ShutdownDetail;
import org.libvirt.event.StartedDetail;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import org.libvirt.event.UndefinedDetail;
import org.servicefarm.api.VmState;

/** How libvirt's states and events map onto the farm's resting states. */
class StateMappingTest {

    @Test
    void domainStates() {
        assertEquals(VmState.ACTIVE, GuestStates.restingState(DomainState.VIR_DOMAIN_RUNNING, false));
        assertEquals(VmState.ACTIVE, GuestStates.restingState(DomainState.VIR_DOMAIN_BLOCKED, false));
        assertEquals(VmState.SLEEPING, GuestStates.restingState(DomainState.VIR_DOMAIN_PAUSED, false));
        assertEquals(VmState.SLEEPING, GuestStates.restingState(DomainState.VIR_DOMAIN_PMSUSPENDED, false));
        assertEquals(VmState.ARCHIVED, GuestStates.restingState(DomainState.VIR_DOMAIN_SHUTOFF, true));
        assertEquals(VmState.FAILED, GuestStates.restingState(DomainState.VIR_DOMAIN_SHUTOFF, false));
        assertEquals(VmState.FAILED, GuestStates.restingState(DomainState.VIR_DOMAIN_CRASHED, true));
    }

    @Test
    void events() {
        assertEquals(VmState.ACTIVE, GuestStates.observedState(DomainEventType.STARTED, StartedDetail.BOOTED));
        assertEquals(VmState.SLEEPING,
                GuestStates.observedState(DomainEventType.SUSPENDED, SuspendedDetail.PAUSED));
        assertEquals(VmState.FAILED,
                GuestStates.observedState(DomainEventType.SUSPENDED, SuspendedDetail.IOERROR));
        assertEquals(VmState.ARCHIVED, GuestStates.observedState(DomainEventType.STOPPED, StoppedDetail.SAVED));
        assertEquals(VmState.FAILED,
                GuestStates.observedState(DomainEventType.STOPPED, StoppedDetail.SHUTDOWN));
        assertEquals(VmState.DESTROYED,
                GuestStates.observedState(DomainEventType.UNDEFINED, UndefinedDetail.REMOVED));
        assertNull(GuestStates.observedState(DomainEventType.DEFINED, DefinedDetail.ADDED));
        assertNull(GuestStates.observedState(DomainEventType.SHUTDOWN, ShutdownDetail.FINISHED));
    }
}
