package org.servicefarm.driver.libvirt.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.servicefarm.api.driver.HypervisorException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

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

    /** Appends the farm's element to a domain's {@code <metadata>}. */
    void writeTo(Element metadata) throws HypervisorException {
        Element vm = element(metadata, ELEMENT);
        DomainXml.attribute(vm, "id", vmId, "VM id");
        DomainXml.attribute(vm, "host", host, "host name");
        DomainXml.attribute(vm, "offering", offeringKey, "offering key");
        DomainXml.attribute(vm, "image", imageId, "image id");
        for (PortBinding port : ports) {
            Element binding = element(vm, "port");
            DomainXml.attribute(binding, "service", port.service(), "service name");
            binding.setAttribute("guest", Integer.toString(port.guestPort()));
            binding.setAttribute("host", Integer.toString(port.hostPort()));
        }
    }

    private static Element element(Element parent, String name) {
        Element element = parent.getOwnerDocument().createElementNS(NAMESPACE, PREFIX + ":" + name);
        parent.appendChild(element);
        return element;
    }

    /**
     * The farm's metadata in a domain's XML, or empty for a domain the farm did not define.
     *
     * @throws HypervisorException when the XML cannot be parsed at all, or the farm's element is malformed
     */
    static Optional<FarmMetadata> of(String domainXml) throws HypervisorException {
        return of(DomainXml.parse(domainXml));
    }

    static Optional<FarmMetadata> of(Document domain) throws HypervisorException {
        NodeList found = domain.getElementsByTagNameNS(NAMESPACE, ELEMENT);
        if (found.getLength() == 0) {
            return Optional.empty();
        }
        Element vm = (Element) found.item(0);
        if (!vm.hasAttribute("id")) {
            return Optional.empty();
        }
        List<PortBinding> ports = new ArrayList<>();
        NodeList portElements = vm.getElementsByTagNameNS(NAMESPACE, "port");
        for (int i = 0; i < portElements.getLength(); i++) {
            Element port = (Element) portElements.item(i);
            try {
                ports.add(new PortBinding(port.getAttribute("service"), Integer.parseInt(port.getAttribute("guest")),
                        Integer.parseInt(port.getAttribute("host"))));
            } catch (NumberFormatException e) {
                throw new HypervisorException("domain " + vm.getAttribute("id") + " has a malformed port in its "
                        + "farm metadata: guest='" + port.getAttribute("guest") + "' host='"
                        + port.getAttribute("host") + "'", e);
            }
        }
        return Optional.of(new FarmMetadata(vm.getAttribute("id"), vm.getAttribute("host"),
                vm.getAttribute("offering"), vm.getAttribute("image"), ports));
    }
}
