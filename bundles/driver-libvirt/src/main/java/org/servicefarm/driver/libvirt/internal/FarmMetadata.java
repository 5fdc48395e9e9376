package org.servicefarm.driver.libvirt.internal;

import java.util.List;
import java.util.Objects;

/**
 * What the farm writes into a domain's {@code <metadata>} so that it can recognise its own domains and
 * recover their port allocations after a restart.
 *
 * @param vmId        the manager's VM id (also the domain name)
 * @param host        the farm host that defined it: several farm hosts may share one libvirt (test:///default,
 *                    one qemu:///system), and each reports only its own domains
 * @param offeringKey the offering's key, or "" when the spec had none
 * @param imageId     the image the VM was made from
 * @param ports       one binding per service
 */
record FarmMetadata(String vmId, String host, String offeringKey, String imageId, List<PortBinding> ports) {

    /** The XML namespace of the farm's metadata element; libvirt keys metadata by namespace. */
    static final String NAMESPACE = "http://servicefarm.org/schemas/libvirt-domain/1.0";
    static final String PREFIX = "servicefarm";
    static final String ELEMENT = "vm";

    FarmMetadata {
        Objects.requireNonNull(vmId, "vmId");
        host = host == null ? "" : host;
        offeringKey = offeringKey == null ? "" : offeringKey;
        imageId = imageId == null ? "" : imageId;
        ports = List.copyOf(ports);
    }

    List<Integer> hostPorts() {
        return ports.stream().map(PortBinding::hostPort).toList();
    }

    /** A service in the guest reached through a host port. */
    record PortBinding(String service, int guestPort, int hostPort) {
        PortBinding {
            Objects.requireNonNull(service, "service");
        }
    }
}
