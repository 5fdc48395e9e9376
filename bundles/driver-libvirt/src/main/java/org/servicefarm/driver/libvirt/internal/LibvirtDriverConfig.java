package org.servicefarm.driver.libvirt.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The libvirt driver's own settings (PID {@value LibvirtDriver#PID}); per-host settings live in the host configurations. */
@ObjectClassDefinition(name = "ServiceFarm libvirt driver",
        description = "Settings shared by every host connected through libvirt. Per-host settings (URI, boot time, "
                + "endpoint host, port range) are hypervisor.* keys of the host configurations.")
@interface LibvirtDriverConfig {

    @AttributeDefinition(name = "State directory",
            description = "The directory under which each host keeps the saved state of its archived VMs, one "
                    + "sub-directory per host. ${karaf.data} is replaced by the Karaf data directory, or by the "
                    + "Java temporary directory outside Karaf. For QEMU hosts libvirtd writes these files, so it "
                    + "must be able to write there.")
    String stateDir() default LibvirtDriver.DEFAULT_STATE_DIR;
}
