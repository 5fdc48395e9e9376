package org.servicefarm.api.driver;

import org.servicefarm.api.VmState;

/** A guest as the hypervisor reports it: its VM id and the resting state it is in. */
public record GuestInfo(String vmId, VmState state) {
}
