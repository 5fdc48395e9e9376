package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.image.Artifact;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The header of a libvirt save image ({@code virsh save}, {@code virDomainSave}), and the domain XML inside it
 * rewritten: libvirt restores a saved guest from the XML in the file and refuses a changed name or UUID at restore
 * ("Target domain name ... does not match source"), so what must change (the farm host and its port forwards when a
 * saved VM moves to another host; the name, UUID and ports of a clone) is changed in the file itself.
 *
 * <p>Two formats. QEMU's (libvirt {@code src/qemu/qemu_saveimage.[ch]}, version 2, host byte order): 16 bytes
 * magic {@code LibvirtQemudSave} ({@code LibvirtQemudPart} while incomplete); uint32 version, data_len,
 * was_running, format (0 = raw), cookieOffset; 14 unused uint32 (92 bytes in all). Then data_len bytes: the domain
 * XML and its NUL, the cookie and its NUL (from cookieOffset), zeros (libvirt leaves 64 KiB of room so the XML can
 * grow). QEMU's migration stream follows. The test driver's ({@code src/test/test_driver.c}): {@code TestGuestMagic}
 * and its NUL, an int32 length, the XML; nothing else.
 */
public final class LibvirtSaveImage {

    static final byte[] MAGIC = "LibvirtQemudSave".getBytes(StandardCharsets.US_ASCII);
    static final byte[] TEST_MAGIC = "TestGuestMagic\0".getBytes(StandardCharsets.US_ASCII);
    /** What libvirt's test driver writes as the version: its format has none. */
    static final int TEST_FORMAT = 0;
    static final int HEADER_SIZE = 92;
    static final int MAX_DATA = 16 * 1024 * 1024;
    /** A clone's domain name (the benchmark's clones; the farm's own domains are named by their VM ids). */
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,47}");
    private static final Pattern FORWARD = Pattern.compile("(hostfwd=tcp:[0-9.]*:)([0-9]+)(-)");

    /** The fixed header and the XML and cookie it frames. */
    public record Header(int version, int dataLen, int wasRunning, int format, int cookieOffset, String xml,
            String cookie) {
    }

    private LibvirtSaveImage() {
    }

    /** Reads the header, XML and cookie of a save image (the test driver's: version 0, no cookie). */
    public static Header read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() >= TEST_MAGIC.length + 4) {
                ByteBuffer start = ByteBuffer.allocate(TEST_MAGIC.length + 4).order(ByteOrder.nativeOrder());
                readFully(ch, start, 0);
                start.flip();
                byte[] magic = new byte[TEST_MAGIC.length];
                start.get(magic);
                if (Arrays.equals(magic, TEST_MAGIC)) {
                    int length = start.getInt();
                    if (length <= 0 || length > MAX_DATA || length > ch.size() - TEST_MAGIC.length - 4) {
                        throw new IOException(file + ": implausible test driver save image (XML of " + length
                                + " bytes)");
                    }
                    ByteBuffer xml = ByteBuffer.allocate(length);
                    readFully(ch, xml, TEST_MAGIC.length + 4);
                    return new Header(TEST_FORMAT, length, 0, 0, 0, cString(xml.array(), 0, length), null);
                }
            }
            ByteBuffer fixed = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.nativeOrder());
            readFully(ch, fixed, 0);
            fixed.flip();
            byte[] magic = new byte[MAGIC.length];
            fixed.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + " is not a complete libvirt save image");
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
     * Replaces the domain XML, for QEMU in place, keeping the cookie and data_len (the migration stream does not
     * move): only the first {@code 92 + data_len} bytes are written.
     *
     * @throws IOException when the new XML and the cookie do not fit in data_len
     */
    public static void rewriteXml(Path file, String newXml) throws IOException {
        Header h = read(file);
        if (h.version() == TEST_FORMAT) {
            // the whole file is the XML: written anew beside it, then moved over it
            byte[] xml = newXml.getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocate(TEST_MAGIC.length + 4 + xml.length).order(ByteOrder.nativeOrder());
            out.put(TEST_MAGIC).putInt(xml.length).put(xml);
            Path partial = file.resolveSibling(file.getFileName() + ".xml-part");
            Files.write(partial, out.array());
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
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
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a clone's domain name must be 1-48 lower-case letters, digits or '-', "
                    + "starting with a letter");
        }
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
        forwardPorts(domain, ports);
        if (mac != null) {
            NodeList macs = domain.getElementsByTagName("mac");
            for (int i = 0; i < macs.getLength(); i++) {
                ((Element) macs.item(i)).setAttribute("address", mac);
            }
        }
        return DomainXml.serialize(doc);
    }

    /**
     * The domain XML of a saved guest moved to another farm host: the farm's metadata replaced by the new host's
     * ({@code metadata}: its name and ports), each host port forward moved ({@code ports}: old host port to new), and
     * the image's files it reads (kernel, initrd, disk) where the new host staged them ({@code locations}).
     * Name, UUID and devices stay: the saved memory and device state must find the machine they left.
     */
    static String relocated(String xml, FarmMetadata metadata, Map<Integer, Integer> ports,
                            Map<Artifact.Kind, String> locations)
            throws IOException, HypervisorException {
        Document doc = parse(xml);
        Element domain = doc.getDocumentElement();
        NodeList farm = domain.getElementsByTagNameNS(FarmMetadata.NAMESPACE, FarmMetadata.ELEMENT);
        if (farm.getLength() == 0) {
            throw new IOException("the saved domain carries no farm metadata: it is not the farm's");
        }
        Element old = (Element) farm.item(0);
        Element parent = (Element) old.getParentNode();
        parent.removeChild(old);
        metadata.writeTo(parent);
        forwardPorts(domain, ports);
        // only where the domain names such a file: a test driver's domain names none
        locations.forEach((kind, path) -> {
            switch (kind) {
                case KERNEL -> replaceText(domain, "kernel", path);
                case INITRD -> replaceText(domain, "initrd", path);
                case DISK -> {
                    NodeList disks = domain.getElementsByTagName("disk");
                    for (int i = 0; i < disks.getLength(); i++) {
                        Element disk = (Element) disks.item(i);
                        NodeList sources = disk.getElementsByTagName("source");
                        if ("disk".equals(disk.getAttribute("device")) && sources.getLength() > 0) {
                            ((Element) sources.item(0)).setAttribute("file", path);
                        }
                    }
                }
                default -> { }
            }
        });
        return DomainXml.serialize(doc);
    }

    /** {@code hostfwd=tcp:ADDR:OLD-:G} becomes {@code NEW} in the {@code qemu:commandline} arguments. */
    private static void forwardPorts(Element domain, Map<Integer, Integer> ports) {
        NodeList args = domain.getElementsByTagNameNS(QemuDomainTemplate.NAMESPACE, "arg");
        for (int i = 0; i < args.getLength(); i++) {
            Element arg = (Element) args.item(i);
            Matcher m = FORWARD.matcher(arg.getAttribute("value"));
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                int old = Integer.parseInt(m.group(2));
                Integer now = ports.get(old);
                m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + (now == null ? old : now) + m.group(3)));
            }
            m.appendTail(sb);
            arg.setAttribute("value", sb.toString());
        }
    }

    private static Document parse(String xml) throws IOException {
        try {
            return DomainXml.parse(xml);
        } catch (HypervisorException e) {
            throw new IOException("domain XML in the save image does not parse: " + e.getMessage(), e);
        }
    }

    private static void replaceText(Element domain, String tag, String value) {
        NodeList nodes = domain.getElementsByTagName(tag);
        for (int i = 0; i < nodes.getLength(); i++) {
            nodes.item(i).setTextContent(value);
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
