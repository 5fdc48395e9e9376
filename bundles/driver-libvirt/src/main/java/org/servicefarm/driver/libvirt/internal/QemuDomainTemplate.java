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
 * any) raw, read-only and shareable, a serial console on a pty logged to {@value #SERIAL_LOG_DIRECTORY} and no
 * graphics, reached through QEMU user-mode networking with one host forward per service. As
 * {@code components/lib/guest-lib.sh}, the domain XML the reference guests were proven with:
 * <ul>
 * <li>libvirt 9.0 drops {@code <portForward>} on user interfaces, so the network goes in through
 * {@code <qemu:commandline>}, its NIC pinned at PCI slot 0x10 (else it takes the slot libvirt gives the disk);</li>
 * <li>{@code restrict=on}: the guest reaches nothing outside, in particular not 10.0.2.2, which user-mode networking
 * maps to the host's loopback, where the appliance's REST API and shell listen; the host forwards still work;</li>
 * <li>a static DAC label without relabelling: QEMU runs as the host's QEMU user ({@link HostSettings#guestLabel()})
 * and reads the staged volumes (root-owned, 0644, shared by every guest of an image) as they are; libvirt's default
 * would chown them to the QEMU user at start and back at stop, under guests that still use them.</li>
 * </ul>
 */
final class QemuDomainTemplate implements DomainTemplate {

    static final QemuDomainTemplate INSTANCE = new QemuDomainTemplate();
    static final String NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    /** The id of the user-mode network device in QEMU's command line; the farm's own, so fixed. */
    static final String NETDEV_ID = "sfnet0";
    private static final String DEFAULT_KERNEL_CMDLINE = "console=ttyS0 quiet";
    /** Where libvirt's QEMU driver keeps its guests' logs; each guest's console goes to {@code <name>-serial.log}. */
    static final String SERIAL_LOG_DIRECTORY = "/var/log/libvirt/qemu";

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
        Element log = DomainXml.child(serial, "log");
        log.setAttribute("file", SERIAL_LOG_DIRECTORY + "/" + logName(spec.vmId()) + "-serial.log");
        log.setAttribute("append", "off");
        DomainXml.child(serial, "target").setAttribute("port", "0");
        Element console = DomainXml.child(devices, "console");
        console.setAttribute("type", "pty");
        Element consoleTarget = DomainXml.child(console, "target");
        consoleTarget.setAttribute("type", "serial");
        consoleTarget.setAttribute("port", "0");
        DomainXml.child(devices, "memballoon").setAttribute("model", "none");
        Element seclabel = DomainXml.child(domain, "seclabel");
        seclabel.setAttribute("type", "static");
        seclabel.setAttribute("model", "dac");
        seclabel.setAttribute("relabel", "no");
        DomainXml.text(seclabel, "label", settings.guestLabel());

        StringBuilder netdev = new StringBuilder("user,id=").append(NETDEV_ID).append(",restrict=on");
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

    /**
     * The file name a VM's console log gets: its id where it is letters, digits, '.', '_' and '-' (the manager's ids
     * are), else those characters kept, the others replaced, and a digest of the id added so two ids never share one.
     */
    static String logName(String vmId) {
        String plain = vmId.replaceAll("[^A-Za-z0-9._-]", "_");
        if (plain.equals(vmId) && !vmId.startsWith(".") && vmId.length() <= 64) {
            return vmId;
        }
        String digest = Integer.toHexString(vmId.hashCode() & 0x7fffffff);
        return (plain.length() > 48 ? plain.substring(0, 48) : plain).replaceFirst("^\\.", "_") + "-" + digest;
    }
}
