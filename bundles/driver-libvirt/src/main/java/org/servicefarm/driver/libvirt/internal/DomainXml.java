package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.io.StringReader;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.w3c.dom.ls.DOMImplementationLS;
import org.w3c.dom.ls.LSSerializer;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Domain XML as a DOM: the skeleton every template shares, serialising, parsing, and the mapping between
 * VM ids and domain names. Values reach the document only as text nodes and attribute values, which the
 * serialiser escapes; what XML 1.0 cannot carry at all is refused first ({@link #requireXmlText}).
 */
final class DomainXml {

    private DomainXml() {
    }

    /**
     * A {@code <domain>} of the given type with what every template writes: name, the farm's metadata,
     * memory and vCPUs.
     *
     * @throws HypervisorException when the id or a metadata value cannot be written as XML, or the size is not positive
     */
    static Document skeleton(String type, VmSpec spec, FarmMetadata metadata) throws HypervisorException {
        requireName(spec.vmId());
        if (spec.vcpus() < 1) {
            throw new HypervisorException("VM " + spec.vmId() + ": vcpus must be at least 1, was " + spec.vcpus());
        }
        if (spec.memoryMiB() < 1) {
            throw new HypervisorException("VM " + spec.vmId() + ": memoryMiB must be at least 1, was "
                    + spec.memoryMiB());
        }
        Document document = newDocument();
        Element domain = document.createElement("domain");
        domain.setAttribute("type", type);
        document.appendChild(domain);
        text(domain, "name", domainName(spec.vmId()));
        metadata.writeTo(child(domain, "metadata"));
        text(domain, "memory", Long.toString(spec.memoryMiB())).setAttribute("unit", "MiB");
        text(domain, "vcpu", Integer.toString(spec.vcpus()));
        return document;
    }

    /** Appends {@code <name/>} to {@code parent}. */
    static Element child(Element parent, String name) {
        Element element = parent.getOwnerDocument().createElement(name);
        parent.appendChild(element);
        return element;
    }

    /** Appends {@code <name>text</name>} to {@code parent}. */
    static Element text(Element parent, String name, String text) throws HypervisorException {
        requireXmlText(text, name);
        Element element = child(parent, name);
        element.setTextContent(text);
        return element;
    }

    /** Sets an attribute after checking XML can carry its value. */
    static Element attribute(Element element, String name, String value, String what) throws HypervisorException {
        requireXmlText(value, what);
        element.setAttribute(name, value);
        return element;
    }

    /** The lifecycle actions every farm domain has: a guest that stops is gone, one that reboots comes back. */
    static void lifecycleActions(Element domain) throws HypervisorException {
        text(domain, "on_poweroff", "destroy");
        text(domain, "on_reboot", "restart");
        text(domain, "on_crash", "destroy");
    }

    static String serialize(Document document) {
        LSSerializer serializer = ((DOMImplementationLS) document.getImplementation()).createLSSerializer();
        serializer.getDomConfig().setParameter("xml-declaration", false);
        serializer.getDomConfig().setParameter("format-pretty-print", true);
        return serializer.writeToString(document);
    }

    /**
     * The domain name of a VM: its id, with the two characters libvirt cannot take in a name ('/') or that
     * would make the mapping ambiguous ('%') percent-encoded.
     */
    static String domainName(String vmId) {
        return vmId.replace("%", "%25").replace("/", "%2F");
    }

    /** The VM id a domain name stands for; the inverse of {@link #domainName}. */
    static String vmIdOf(String domainName) {
        return domainName.replace("%2F", "/").replace("%25", "%");
    }

    /** The text of the domain's {@code <name>} element. */
    static String nameOf(String domainXml) throws HypervisorException {
        NodeList names = parse(domainXml).getDocumentElement().getElementsByTagName("name");
        return names.getLength() == 0 ? "" : names.item(0).getTextContent();
    }

    /** Whether the domain boots or mounts {@code path}: its kernel, its initrd or a disk's source file. */
    static boolean usesFile(String domainXml, String path) throws HypervisorException {
        Element root = parse(domainXml).getDocumentElement();
        for (String element : new String[] {"kernel", "initrd"}) {
            NodeList found = root.getElementsByTagName(element);
            for (int i = 0; i < found.getLength(); i++) {
                if (path.equals(found.item(i).getTextContent().strip())) {
                    return true;
                }
            }
        }
        NodeList sources = root.getElementsByTagName("source");
        for (int i = 0; i < sources.getLength(); i++) {
            if (path.equals(((Element) sources.item(i)).getAttribute("file"))) {
                return true;
            }
        }
        return false;
    }

    static Document parse(String xml) throws HypervisorException {
        try {
            DocumentBuilder builder = BUILDER.get();
            builder.reset();
            return builder.parse(new InputSource(new StringReader(xml)));
        } catch (SAXException | IOException e) {
            throw new HypervisorException("domain XML is not well-formed: " + LibvirtErrors.shown(e.getMessage()), e);
        }
    }

    static Document newDocument() {
        return BUILDER.get().newDocument();
    }

    /** Builders are not thread-safe and costly to make: one per thread (guests() parses every domain's XML). */
    private static final ThreadLocal<DocumentBuilder> BUILDER = ThreadLocal.withInitial(() -> {
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

    /** A VM id becomes the domain name: no control character at all (libvirt would refuse or mangle it). */
    private static void requireName(String vmId) throws HypervisorException {
        requireXmlText(vmId, "VM id");
        if (vmId.isBlank() || vmId.chars().anyMatch(Character::isISOControl)) {
            throw new HypervisorException("VM id must be non-blank without control characters: " + visible(vmId));
        }
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
