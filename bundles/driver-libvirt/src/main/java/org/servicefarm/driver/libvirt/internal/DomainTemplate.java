package org.servicefarm.driver.libvirt.internal;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;

/** The domain XML of one kind of host: what the farm defines for a VM there. */
sealed interface DomainTemplate permits TestDomainTemplate, QemuDomainTemplate {

    static DomainTemplate of(HostSettings.Kind kind) {
        return switch (kind) {
            case TEST -> TestDomainTemplate.INSTANCE;
            case QEMU -> QemuDomainTemplate.INSTANCE;
        };
    }

    /**
     * The domain XML for {@code spec}, carrying {@code metadata}.
     *
     * @throws HypervisorException when a value cannot be written as XML, or the image lacks what this kind boots
     */
    String render(VmSpec spec, FarmMetadata metadata, HostSettings settings) throws HypervisorException;
}
