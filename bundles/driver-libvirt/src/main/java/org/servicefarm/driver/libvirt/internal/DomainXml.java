package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Writes the domain XML the farm defines and reads the farm's metadata back. Every value that comes
 * from outside (VM id, offering key, image id, service names, artifact paths) goes through
 * {@link #escape}; values XML cannot carry at all are refused before anything reaches libvirt.
 */
final class DomainXml {

    static final String QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    /** The id of the user-mode network device in QEMU's command line; the farm's own, so fixed. */
    private static final String NETDEV_ID = "sfnet0";
    private static final String DEFAULT_KERNEL_CMDLINE = "console=ttyS0 quiet";

    private DomainXml() {
    }

    /**
     * The domain XML for {@code spec} on a host of {@code kind}, carrying {@code metadata}.
     *
     * @throws HypervisorException when a value cannot be written as XML, or a QEMU image lacks a kernel
     */
    static String render(HostSettings.Kind kind, VmSpec spec, FarmMetadata metadata, String forwardAddress)
            throws HypervisorException {
        requireXmlText(spec.vmId(), "VM id");
        if (spec.vmId().isBlank()) {
            throw new HypervisorException("VM id must not be blank");
        }
        if (spec.vcpus() < 1) {
            throw new HypervisorException("VM " + spec.vmId() + ": vcpus must be at least 1, was " + spec.vcpus());
        }
        if (spec.memoryMiB() < 1) {
            throw new HypervisorException("VM " + spec.vmId() + ": memoryMiB must be at least 1, was "
                    + spec.memoryMiB());
        }
        StringBuilder xml = new StringBuilder(1024);
        if (kind == HostSettings.Kind.QEMU) {
            xml.append("<domain type='qemu' xmlns:qemu='").append(QEMU_NAMESPACE).append("'>\n");
        } else {
            xml.append("<domain type='test'>\n");
        }
        xml.append("  <name>").append(escape(domainName(spec.vmId()))).append("</name>\n");
        appendMetadata(xml, metadata);
        xml.append("  <memory unit='MiB'>").append(spec.memoryMiB()).append("</memory>\n");
        xml.append("  <vcpu>").append(spec.vcpus()).append("</vcpu>\n");
        if (kind == HostSettings.Kind.QEMU) {
            appendQemuBody(xml, spec, metadata, forwardAddress);
        } else {
            xml.append("  <os>\n    <type>hvm</type>\n  </os>\n");
            xml.append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n")
                    .append("  <on_crash>destroy</on_crash>\n");
        }
        xml.append("</domain>\n");
        return xml.toString();
    }

    private static void appendMetadata(StringBuilder xml, FarmMetadata metadata) throws HypervisorException {
        String p = FarmMetadata.PREFIX + ":";
        xml.append("  <metadata>\n");
        xml.append("    <").append(p).append(FarmMetadata.ELEMENT).append(" xmlns:").append(FarmMetadata.PREFIX)
                .append("='").append(FarmMetadata.NAMESPACE).append("'")
                .append(" id='").append(attribute(metadata.vmId(), "VM id")).append("'")
                .append(" host='").append(attribute(metadata.host(), "host name")).append("'")
                .append(" offering='").append(attribute(metadata.offeringKey(), "offering key")).append("'")
                .append(" image='").append(attribute(metadata.imageId(), "image id")).append("'>\n");
        for (PortBinding port : metadata.ports()) {
            xml.append("      <").append(p).append("port service='").append(attribute(port.service(), "service name"))
                    .append("' guest='").append(port.guestPort()).append("' host='").append(port.hostPort())
                    .append("'/>\n");
        }
        xml.append("    </").append(p).append(FarmMetadata.ELEMENT).append(">\n");
        xml.append("  </metadata>\n");
    }

    /**
     * A QEMU guest booting the image's kernel and initrd, reached through QEMU user-mode networking with one
     * host forward per service. libvirt 9.0 drops {@code <portForward>} on user interfaces, so the network goes
     * in through {@code <qemu:commandline>}.
     */
    private static void appendQemuBody(StringBuilder xml, VmSpec spec, FarmMetadata metadata, String forwardAddress)
            throws HypervisorException {
        Map<String, String> artifacts = spec.image().artifacts();
        String kernel = artifacts.get("kernel");
        if (kernel == null || kernel.isBlank()) {
            throw new HypervisorException("VM " + spec.vmId() + ": image " + spec.image().id()
                    + " has no 'kernel' artifact, which a QEMU guest boots from");
        }
        xml.append("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
        xml.append("    <kernel>").append(text(kernel, "kernel path")).append("</kernel>\n");
        String initrd = artifacts.get("initrd");
        if (initrd != null && !initrd.isBlank()) {
            xml.append("    <initrd>").append(text(initrd, "initrd path")).append("</initrd>\n");
        }
        String cmdline = artifacts.getOrDefault("cmdline", DEFAULT_KERNEL_CMDLINE);
        xml.append("    <cmdline>").append(text(cmdline, "kernel command line")).append("</cmdline>\n");
        xml.append("  </os>\n");
        xml.append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n")
                .append("  <on_crash>destroy</on_crash>\n");
        xml.append("  <devices>\n");
        String disk = artifacts.get("disk");
        if (disk != null && !disk.isBlank()) {
            String format = disk.endsWith(".qcow2") ? "qcow2" : "raw";
            xml.append("    <disk type='file' device='disk'>\n")
                    .append("      <driver name='qemu' type='").append(format).append("'/>\n")
                    .append("      <source file='").append(attribute(disk, "disk path")).append("'/>\n")
                    .append("      <target dev='vda' bus='virtio'/>\n")
                    .append("    </disk>\n");
        }
        xml.append("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n");
        xml.append("    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n");
        xml.append("    <memballoon model='none'/>\n");
        xml.append("  </devices>\n");
        StringBuilder netdev = new StringBuilder("user,id=").append(NETDEV_ID);
        for (PortBinding port : metadata.ports()) {
            // QEMU option syntax: ',' separates fields. Only numbers and the checked address go in.
            netdev.append(",hostfwd=tcp:").append(forwardAddress).append(':').append(port.hostPort())
                    .append("-:").append(port.guestPort());
        }
        xml.append("  <qemu:commandline>\n");
        xml.append("    <qemu:arg value='-netdev'/>\n");
        xml.append("    <qemu:arg value='").append(attribute(netdev.toString(), "netdev option")).append("'/>\n");
        xml.append("    <qemu:arg value='-device'/>\n");
        xml.append("    <qemu:arg value='virtio-net-pci,netdev=").append(NETDEV_ID).append("'/>\n");
        xml.append("  </qemu:commandline>\n");
    }

    /**
     * The domain name of a VM: its id, with the two characters libvirt cannot take in a name ('/') or that
     * would make the mapping ambiguous ('%') percent-encoded. Everything else is XML-escaped where written.
     */
    static String domainName(String vmId) {
        return vmId.replace("%", "%25").replace("/", "%2F");
    }

    /** The VM id a domain name stands for; the inverse of {@link #domainName}. */
    static String vmIdOf(String domainName) {
        return domainName.replace("%2F", "/").replace("%25", "%");
    }

    /**
     * The farm's metadata in a domain's XML, or empty for a domain the farm did not define.
     *
     * @throws HypervisorException when the XML cannot be parsed at all
     */
    static Optional<FarmMetadata> metadataOf(String domainXml) throws HypervisorException {
        Document document = parse(domainXml);
        NodeList found = document.getElementsByTagNameNS(FarmMetadata.NAMESPACE, FarmMetadata.ELEMENT);
        if (found.getLength() == 0) {
            return Optional.empty();
        }
        Element vm = (Element) found.item(0);
        if (!vm.hasAttribute("id")) {
            return Optional.empty();
        }
        List<PortBinding> ports = new ArrayList<>();
        NodeList portElements = vm.getElementsByTagNameNS(FarmMetadata.NAMESPACE, "port");
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
        return Optional.of(new FarmMetadata(vm.getAttribute("id"), vm.getAttribute("host"), vm.getAttribute("offering"),
                vm.getAttribute("image"), ports));
    }

    /** The text of the domain's {@code <name>} element. */
    static String nameOf(String domainXml) throws HypervisorException {
        NodeList names = parse(domainXml).getDocumentElement().getElementsByTagName("name");
        return names.getLength() == 0 ? "" : names.item(0).getTextContent();
    }

    static Document parse(String xml) throws HypervisorException {
        try {
            DocumentBuilder builder = PARSER.get();
            builder.reset();
            return builder.parse(new InputSource(new StringReader(xml)));
        } catch (SAXException | IOException e) {
            throw new HypervisorException("domain XML is not well-formed: " + LibvirtErrors.shown(e.getMessage()), e);
        }
    }

    /** Builders are not thread-safe and costly to make: one per thread (guests() parses every domain's XML). */
    private static final ThreadLocal<DocumentBuilder> PARSER = ThreadLocal.withInitial(() -> {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setExpandEntityReferences(false);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(null);
            return builder;
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException("the Java runtime's XML parser cannot be configured securely", e);
        }
    });

    /** Escapes the five XML special characters; safe in text and in either kind of quoted attribute. */
    static String escape(String value) {
        StringBuilder out = new StringBuilder(value.length() + 16);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    private static String text(String value, String what) throws HypervisorException {
        requireXmlText(value, what);
        return escape(value);
    }

    /** Attribute values also lose tabs and line breaks to normalisation: refuse those as well. */
    private static String attribute(String value, String what) throws HypervisorException {
        requireXmlText(value, what);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\t' || c == '\n' || c == '\r') {
                throw new HypervisorException(what + " must not contain tabs or line breaks: " + visible(value));
            }
        }
        return escape(value);
    }

    /** XML 1.0 cannot carry most control characters, escaped or not, nor unpaired surrogates. */
    static void requireXmlText(String value, String what) throws HypervisorException {
        if (value == null) {
            throw new HypervisorException(what + " is missing");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean allowed;
            if (Character.isHighSurrogate(c)) {
                allowed = i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1));
                i++;
            } else {
                allowed = c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF)
                        || (c >= 0xE000 && c <= 0xFFFD);
            }
            if (!allowed) {
                throw new HypervisorException(what + " contains a character XML cannot carry: " + visible(value));
            }
        }
    }

    private static String visible(String value) {
        StringBuilder out = new StringBuilder();
        value.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || (cp >= 0xD800 && cp <= 0xDFFF) || cp >= 0xFFFE) {
                out.append(String.format("\\u%04X", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return "'" + out + "'";
    }
}
