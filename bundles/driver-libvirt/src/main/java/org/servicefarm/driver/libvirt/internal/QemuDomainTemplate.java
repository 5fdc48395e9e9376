package org.servicefarm.driver.libvirt.internal;

import java.util.Optional;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * A QEMU guest (TCG: {@code type='qemu'}) booting the staged kernel and initrd directly, with the staged disk (if
 * any) read-only, a serial console on a pty and no graphics, reached through QEMU user-mode networking with one host
 * forward per service. libvirt 9.0 drops {@code <portForward>} on user interfaces, so
 * the network goes in through {@code <qemu:commandline>}.
 */
final class QemuDomainTemplate implements DomainTemplate {

    static final QemuDomainTemplate INSTANCE = new QemuDomainTemplate();
    static final String NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    /** The id of the user-mode network device in QEMU's command line; the farm's own, so fixed. */
    static final String NETDEV_ID = "sfnet0";
    private static final String DEFAULT_KERNEL_CMDLINE = "console=ttyS0 quiet";

    private QemuDomainTemplate() {
    }

    @Override
    public String render(VmSpec spec, FarmMetadata metadata, HostSettings settings) throws HypervisorException {
        StagedImage image = spec.image();
        String kernel = image.location(Artifact.Kind.KERNEL).orElseThrow(() -> new HypervisorException("VM "
                + spec.vmId() + ": image " + image.image().id() + " has no KERNEL artifact, which a QEMU guest boots"));
        Document document = DomainXml.skeleton("qemu", spec, metadata);
        Element domain = document.getDocumentElement();
        domain.setAttributeNS("http://www.w3.org/2000/xmlns/", "xmlns:qemu", NAMESPACE);

        Element os = DomainXml.child(domain, "os");
        Element type = DomainXml.text(os, "type", "hvm");
        type.setAttribute("arch", "x86_64");
        type.setAttribute("machine", "pc");
        DomainXml.text(os, "kernel", kernel);
        Optional<String> initrd = image.location(Artifact.Kind.INITRD);
        if (initrd.isPresent()) {
            DomainXml.text(os, "initrd", initrd.get());
        }
        String args = image.image().kernelArgs();
        DomainXml.text(os, "cmdline", args.isBlank() ? DEFAULT_KERNEL_CMDLINE : args);
        DomainXml.child(DomainXml.child(domain, "features"), "acpi");
        DomainXml.lifecycleActions(domain);

        Element devices = DomainXml.child(domain, "devices");
        Optional<String> disk = image.location(Artifact.Kind.DISK);
        if (disk.isPresent()) {
            // The staged volume is shared by every VM of the image (it is named by its content): never written.
            Element diskElement = DomainXml.child(devices, "disk");
            diskElement.setAttribute("type", "file");
            diskElement.setAttribute("device", "disk");
            Element driver = DomainXml.child(diskElement, "driver");
            driver.setAttribute("name", "qemu");
            driver.setAttribute("type", "raw");
            DomainXml.attribute(DomainXml.child(diskElement, "source"), "file", disk.get(), "disk path");
            Element target = DomainXml.child(diskElement, "target");
            target.setAttribute("dev", "vda");
            target.setAttribute("bus", "virtio");
            DomainXml.child(diskElement, "readonly");
            DomainXml.child(diskElement, "shareable");
        }
        Element serial = DomainXml.child(devices, "serial");
        serial.setAttribute("type", "pty");
        DomainXml.child(serial, "target").setAttribute("port", "0");
        Element console = DomainXml.child(devices, "console");
        console.setAttribute("type", "pty");
        Element consoleTarget = DomainXml.child(console, "target");
        consoleTarget.setAttribute("type", "serial");
        consoleTarget.setAttribute("port", "0");
        DomainXml.child(devices, "memballoon").setAttribute("model", "none");

        StringBuilder netdev = new StringBuilder("user,id=").append(NETDEV_ID);
        for (PortBinding port : metadata.ports()) {
            // QEMU option syntax: ',' separates fields. Only numbers and the checked address go in.
            netdev.append(",hostfwd=tcp:").append(settings.forwardAddress()).append(':').append(port.hostPort())
                    .append("-:").append(port.guestPort());
        }
        Element commandline = document.createElementNS(NAMESPACE, "qemu:commandline");
        domain.appendChild(commandline);
        // The NIC gets a fixed slot: devices from the command line would otherwise take slots libvirt assigns.
        for (String arg : new String[] {"-netdev", netdev.toString(), "-device",
                "virtio-net-pci,netdev=" + NETDEV_ID + ",bus=pci.0,addr=0x10"}) {
            Element element = document.createElementNS(NAMESPACE, "qemu:arg");
            element.setAttribute("value", arg);
            commandline.appendChild(element);
        }
        return DomainXml.serialize(document);
    }
}
