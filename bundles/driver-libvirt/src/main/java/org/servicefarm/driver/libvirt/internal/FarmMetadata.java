package org.servicefarm.driver.libvirt.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Names;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * What the farm writes into a domain's {@code <metadata>}: enough to recognise its own domains, recover their port
 * allocations, and take a domain the state table lost back into it ({@link GuestMetadata}). Read back, a part may be
 * missing or unreadable (a domain written by an older appliance, or edited by hand): {@link #problem} says which,
 * and the domain is reported {@link GuestInfo.Unrecorded}; its id, host and ports still count.
 *
 * <pre>{@code
 * <servicefarm:vm id="sf-…" host="alpha" image="img-…" created="2026-…Z" vcpus="1" memoryMiB="256" offering="wiki@…">
 *   <servicefarm:offering service="wiki" version="2.1" os="debian-12" server="nginx-1.26" runtime="php-8.2"
 *                         securityLevel="standard"><servicefarm:patch name="…"/></servicefarm:offering>
 *   <servicefarm:port service="wiki" guest="80" host="20000"/>
 * </servicefarm:vm>
 * }</pre>
 *
 * @param vmId      the manager's VM id (also the domain name)
 * @param host      the farm host that defined it: several farm hosts may share one libvirt (test:///default, one
 *                  qemu:///system), and each reports only its own domains
 * @param offering  the offering, or {@code null} when it cannot be read
 * @param imageId   the image the VM was made from ("" when unknown)
 * @param resources what it takes of its host, or {@code null} when it cannot be read
 * @param createdAt when the manager created it, or {@code null} when it cannot be read
 * @param ports     one binding per service
 * @param problem   what is missing or unreadable, or {@code null} when the metadata is whole
 */
record FarmMetadata(String vmId, String host, Offering offering, String imageId, Capacity resources,
                    Instant createdAt, List<PortBinding> ports, String problem) {

    /** The XML namespace of the farm's metadata element; libvirt keys metadata by namespace. */
    static final String NAMESPACE = "http://servicefarm.org/schemas/libvirt-domain/1.0";
    static final String PREFIX = "servicefarm";
    static final String ELEMENT = "vm";

    FarmMetadata {
        Objects.requireNonNull(vmId, "vmId");
        host = host == null ? "" : host;
        imageId = imageId == null ? "" : imageId;
        ports = List.copyOf(ports);
    }

    /** What the farm records on the domain of a VM it defines on {@code host}. */
    static FarmMetadata of(VmSpec spec, String host, List<PortBinding> ports) {
        return new FarmMetadata(spec.vmId(), host, spec.offering(), spec.image().image().id(),
                new Capacity(spec.vcpus(), spec.memoryMiB(), 1), spec.createdAt(), ports, null);
    }

    /** The same VM forwarded from other host ports. */
    FarmMetadata withPorts(List<PortBinding> ports) {
        return new FarmMetadata(vmId, host, offering, imageId, resources, createdAt, ports, problem);
    }

    List<Integer> hostPorts() {
        return ports.stream().map(PortBinding::hostPort).toList();
    }

    /** The offering's key for people, or what the metadata says instead. */
    String offeringKey() {
        return offering == null ? "unknown (" + problem + ")" : offering.key();
    }

    /** The endpoint of each service, reached at {@code endpointHost}. */
    Map<String, Endpoint> endpoints(String endpointHost) {
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        for (PortBinding port : ports) {
            endpoints.put(port.service(), new Endpoint(endpointHost, port.hostPort()));
        }
        return endpoints;
    }

    /** The guest as {@link org.servicefarm.api.driver.HostConnection#guests} reports it. */
    GuestInfo guestInfo(VmState state, String endpointHost) {
        if (problem != null) {
            return new GuestInfo.Unrecorded(vmId, state, problem);
        }
        return new GuestInfo.Recorded(new GuestMetadata(vmId, offering, imageId, resources, endpoints(endpointHost),
                createdAt), state);
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
        DomainXml.attribute(vm, "image", imageId, "image id");
        if (createdAt != null) {
            vm.setAttribute("created", createdAt.toString());
        }
        if (resources != null) {
            vm.setAttribute("vcpus", Integer.toString(resources.vcpus()));
            vm.setAttribute("memoryMiB", Long.toString(resources.memoryMiB()));
        }
        if (offering != null) {
            DomainXml.attribute(vm, "offering", offering.key(), "offering key");
            Element element = element(vm, "offering");
            DomainXml.attribute(element, "service", offering.service(), "service");
            DomainXml.attribute(element, "version", offering.version(), "version");
            DomainXml.attribute(element, "os", offering.environment().os(), "os");
            DomainXml.attribute(element, "server", offering.environment().server(), "server");
            DomainXml.attribute(element, "runtime", offering.environment().runtime(), "runtime");
            DomainXml.attribute(element, "securityLevel", offering.securityLevel(), "security level");
            for (String patch : offering.environment().patches()) {
                DomainXml.attribute(element(element, "patch"), "name", patch, "patch");
            }
        }
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
     * @throws HypervisorException when the XML cannot be parsed at all
     */
    static Optional<FarmMetadata> of(String domainXml) throws HypervisorException {
        return of(DomainXml.parse(domainXml));
    }

    static Optional<FarmMetadata> of(Document domain) {
        NodeList found = domain.getElementsByTagNameNS(NAMESPACE, ELEMENT);
        if (found.getLength() == 0) {
            return Optional.empty();
        }
        Element vm = (Element) found.item(0);
        if (!vm.hasAttribute("id")) {
            return Optional.empty();
        }
        List<String> problems = new ArrayList<>();
        List<PortBinding> ports = new ArrayList<>();
        NodeList portElements = vm.getElementsByTagNameNS(NAMESPACE, "port");
        for (int i = 0; i < portElements.getLength(); i++) {
            Element port = (Element) portElements.item(i);
            try {
                ports.add(new PortBinding(port.getAttribute("service"), Integer.parseInt(port.getAttribute("guest")),
                        Integer.parseInt(port.getAttribute("host"))));
            } catch (NumberFormatException e) {
                problems.add("a port binding is malformed");
            }
        }
        Offering offering = offering(vm, problems);
        Capacity resources = null;
        try {
            resources = new Capacity(Integer.parseInt(vm.getAttribute("vcpus")),
                    Long.parseLong(vm.getAttribute("memoryMiB")), 1);
        } catch (RuntimeException e) { // a missing or malformed number, or a negative one
            problems.add("its vcpus and memoryMiB are missing or malformed");
        }
        Instant createdAt = null;
        try {
            createdAt = Instant.parse(vm.getAttribute("created"));
        } catch (RuntimeException e) {
            problems.add("its creation time is missing or malformed");
        }
        if (vm.getAttribute("image").isEmpty()) {
            problems.add("it names no image");
        }
        return Optional.of(new FarmMetadata(vm.getAttribute("id"), vm.getAttribute("host"), offering,
                vm.getAttribute("image"), resources, createdAt, ports,
                problems.isEmpty() ? null : "its farm metadata is incomplete: " + String.join("; ", problems)));
    }

    private static Offering offering(Element vm, List<String> problems) {
        NodeList found = vm.getElementsByTagNameNS(NAMESPACE, "offering");
        if (found.getLength() == 0) {
            problems.add("it carries no offering (written by an older appliance?)");
            return null;
        }
        Element element = (Element) found.item(0);
        List<String> patches = new ArrayList<>();
        NodeList patchElements = element.getElementsByTagNameNS(NAMESPACE, "patch");
        for (int i = 0; i < patchElements.getLength(); i++) {
            patches.add(((Element) patchElements.item(i)).getAttribute("name"));
        }
        try {
            Names.required("service", element.getAttribute("service"));
            Names.required("version", element.getAttribute("version"));
            Names.required("securityLevel", element.getAttribute("securityLevel"));
            return new Offering(element.getAttribute("service"), element.getAttribute("version"),
                    new Environment(element.getAttribute("os"), element.getAttribute("server"),
                            element.getAttribute("runtime"), patches), element.getAttribute("securityLevel"));
        } catch (RuntimeException e) { // the API records refuse what is not a name, or an incomplete environment
            problems.add("its offering is invalid: " + LibvirtErrors.shown(e.getMessage()));
            return null;
        }
    }
}
