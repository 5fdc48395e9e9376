package org.servicefarm.api.driver;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.HostRecord;

/**
 * A hypervisor driver family (libvirt, XAPI). Registered with {@link #NAME}; hosts whose
 * {@link HostRecord#driver()} equals that name are connected through it.
 */
@ConsumerType
public interface HypervisorDriver {

    /** Service property (String): the driver's name, matched against {@link HostRecord#driver()}. */
    String NAME = "hypervisor.driver.name";

    /**
     * Connects to a host. The connection reports lifecycle events it observes to {@code events}
     * until it is closed.
     *
     * @throws HypervisorException if the host cannot be reached or its configuration is wrong
     */
    HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException;
}
