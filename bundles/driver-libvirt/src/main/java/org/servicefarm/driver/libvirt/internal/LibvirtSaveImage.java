package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * The header of a libvirt QEMU save image ({@code virsh save}), and restoring one saved guest as
 * another: libvirt's restore refuses a changed name or UUID ("Target domain name ... does not match
 * source"), so the domain XML inside the file is rewritten in place instead.
 *
 * <p>Layout (libvirt {@code src/qemu/qemu_saveimage.[ch]}, version 2, host byte order): 16 bytes
 * magic {@code LibvirtQemudSave} ({@code LibvirtQemudPart} while incomplete); uint32 version,
 * data_len, was_running, format (0 = raw), cookieOffset; 14 unused uint32 (92 bytes in all). Then
 * data_len bytes: the domain XML and its NUL, the cookie and its NUL (from cookieOffset), zeros
 * (libvirt leaves 64 KiB of room so the XML can grow). QEMU's migration stream follows.
 */
public final class LibvirtSaveImage {

    static final byte[] MAGIC = "LibvirtQemudSave".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_SIZE = 92;
    static final int MAX_DATA = 16 * 1024 * 1024;

    /** The fixed header and the XML and cookie it frames. */
    public record Header(int version, int dataLen, int wasRunning, int format, int cookieOffset, String xml,
            String cookie) {
    }

    private LibvirtSaveImage() {
    }

    /** Reads the header, XML and cookie of a save image. */
    public static Header read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer fixed = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.nativeOrder());
            readFully(ch, fixed, 0);
            fixed.flip();
            byte[] magic = new byte[MAGIC.length];
            fixed.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + " is not a complete libvirt QEMU save image");
            }
            int version = fixed.getInt();
            int dataLen = fixed.getInt();
            int wasRunning = fixed.getInt();
            int format = fixed.getInt();
            int cookieOffset = fixed.getInt();
            if (version != 2) {
                throw new IOException(file + ": save image version " + version + ", only 2 is understood");
            }
            if (dataLen <= 0 || dataLen > MAX_DATA || cookieOffset < 0 || cookieOffset > dataLen) {
                throw new IOException(file + ": implausible header (data_len " + dataLen + ", cookie at " + cookieOffset + ")");
            }
            ByteBuffer data = ByteBuffer.allocate(dataLen);
            readFully(ch, data, HEADER_SIZE);
            byte[] bytes = data.array();
            int xmlLen = cookieOffset > 0 ? cookieOffset : dataLen;
            String xml = cString(bytes, 0, xmlLen);
            String cookie = cookieOffset > 0 ? cString(bytes, cookieOffset, dataLen - cookieOffset) : null;
            return new Header(version, dataLen, wasRunning, format, cookieOffset, xml, cookie);
        }
    }

    /**
     * Replaces the domain XML in place, keeping the cookie and data_len (the migration stream does not
     * move). Only the first {@code 92 + data_len} bytes are written.
     *
     * @throws IOException when the new XML and the cookie do not fit in data_len
     */
    public static void rewriteXml(Path file, String newXml) throws IOException {
        Header h = read(file);
        byte[] xml = (newXml + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] cookie = h.cookie() == null ? new byte[0] : (h.cookie() + "\0").getBytes(StandardCharsets.UTF_8);
        if (xml.length + cookie.length > h.dataLen()) {
            throw new IOException("the new XML (" + xml.length + " bytes) and the cookie (" + cookie.length
                    + ") do not fit in the " + h.dataLen() + " bytes the save image has for them");
        }
        ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + h.dataLen()).order(ByteOrder.nativeOrder());
        out.put(MAGIC);
        out.putInt(h.version());
        out.putInt(h.dataLen());
        out.putInt(h.wasRunning());
        out.putInt(h.format());
        out.putInt(cookie.length > 0 ? xml.length : 0);
        out.position(HEADER_SIZE);
        out.put(xml);
        out.put(cookie);
        // the rest stays zero
        out.position(0);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            while (out.hasRemaining()) {
                // The buffer maps file offsets 0..: its position is the file position.
                ch.write(out, out.position());
            }
            ch.force(false);
        }
    }

    /**
     * The domain XML of a saved guest made into another domain: new name, UUID, host port forwards
     * ({@code hostfwd=tcp:ADDR:OLD-:G} becomes {@code NEW}) in the {@code qemu:commandline} arguments, the
     * serial log file, and the MAC address of any {@code <interface>}.
     *
     * <p>Note that a MAC address changed here does not reach the guest: virtio-net's MAC is part of the
     * device state in the stream and the guest driver read it at boot. With user-mode networking every
     * guest has its own network, so clones with one MAC do not clash.
     *
     * @param ports old host port to new host port
     */
    public static String renamed(String xml, String name, String uuid, Map<Integer, Integer> ports, String mac)
            throws IOException {
        Checks.name("domain name", name);
        if (!uuid.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
            throw new IllegalArgumentException("not a UUID");
        }
        if (mac != null && !mac.matches("([0-9a-f]{2}:){5}[0-9a-f]{2}")) {
            throw new IllegalArgumentException("not a MAC address");
        }
        Document doc = parse(xml);
        Element domain = doc.getDocumentElement();
        String oldName = text(domain, "name");
        setText(domain, "name", name);
        setText(domain, "uuid", uuid);
        NodeList logs = domain.getElementsByTagName("log");
        for (int i = 0; i < logs.getLength(); i++) {
            Element log = (Element) logs.item(i);
            String file = log.getAttribute("file");
            if (oldName != null && file.contains("/" + oldName + "-")) {
                log.setAttribute("file", file.replace("/" + oldName + "-", "/" + name + "-"));
            }
        }
        NodeList args = domain.getElementsByTagNameNS("http://libvirt.org/schemas/domain/qemu/1.0", "arg");
        Pattern fwd = Pattern.compile("(hostfwd=tcp:[0-9.]*:)([0-9]+)(-)");
        for (int i = 0; i < args.getLength(); i++) {
            Element arg = (Element) args.item(i);
            Matcher m = fwd.matcher(arg.getAttribute("value"));
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                int old = Integer.parseInt(m.group(2));
                Integer now = ports.get(old);
                m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + (now == null ? old : now) + m.group(3)));
            }
            m.appendTail(sb);
            arg.setAttribute("value", sb.toString());
        }
        if (mac != null) {
            NodeList macs = domain.getElementsByTagName("mac");
            for (int i = 0; i < macs.getLength(); i++) {
                ((Element) macs.item(i)).setAttribute("address", mac);
            }
        }
        return serialize(doc);
    }

    private static Document parse(String xml) throws IOException {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            // The default handler prints to stderr before throwing: throw only.
            b.setErrorHandler(new org.xml.sax.helpers.DefaultHandler() {
                @Override
                public void fatalError(org.xml.sax.SAXParseException e) throws SAXException {
                    throw e;
                }

                @Override
                public void error(org.xml.sax.SAXParseException e) throws SAXException {
                    throw e;
                }
            });
            return b.parse(new InputSource(new StringReader(xml)));
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("domain XML in the save image does not parse: " + e.getMessage(), e);
        }
    }

    private static String serialize(Document doc) throws IOException {
        try {
            TransformerFactory tf = TransformerFactory.newInstance();
            tf.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            tf.setAttribute(XMLConstants.ACCESS_EXTERNAL_STYLESHEET, "");
            Transformer t = tf.newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter w = new StringWriter();
            t.transform(new DOMSource(doc), new StreamResult(w));
            return w.toString();
        } catch (TransformerException e) {
            throw new IOException("cannot write the domain XML: " + e.getMessage(), e);
        }
    }

    private static String text(Element parent, String tag) {
        NodeList nodes = parent.getElementsByTagName(tag);
        return nodes.getLength() == 0 ? null : nodes.item(0).getTextContent();
    }

    private static void setText(Element parent, String tag, String value) {
        NodeList nodes = parent.getElementsByTagName(tag);
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i).getParentNode() == parent) {
                nodes.item(i).setTextContent(value);
                return;
            }
        }
        Element e = parent.getOwnerDocument().createElement(tag);
        e.setTextContent(value);
        parent.insertBefore(e, parent.getFirstChild());
    }

    private static String cString(byte[] bytes, int offset, int max) {
        int end = offset;
        while (end < offset + max && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static void readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, pos);
            if (n < 0) {
                throw new IOException("save image ends early");
            }
            pos += n;
        }
    }
}
