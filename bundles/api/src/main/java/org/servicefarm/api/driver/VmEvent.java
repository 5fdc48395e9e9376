package org.servicefarm.api.driver;

import org.servicefarm.api.VmState;

/**
 * A lifecycle change a hypervisor reported for one of the farm's guests.
 *
 * @param host     the host's name
 * @param vmId     the VM's id
 * @param observed the resting state the guest is now in
 * @param detail   the hypervisor's words for it
 */
public record VmEvent(String host, String vmId, VmState observed, String detail) {
}
