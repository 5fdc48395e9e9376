package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;

class LibvirtSaveImageTest {

    static final String XML = "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
            + "  <name>bench-a</name>\n  <uuid>0b9a2d4e-1111-4f5e-9a6b-3c2d1e0f9a8b</uuid>\n"
            + "  <devices><serial type='pty'><log file='/var/log/libvirt/qemu/bench-a-serial.log' append='off'/></serial>"
            + "<interface type='user'><mac address='52:54:00:aa:bb:cc'/></interface></devices>\n"
            + "  <qemu:commandline><qemu:arg value='-netdev'/>"
            + "<qemu:arg value='user,id=sfnet0,hostfwd=tcp:127.0.0.1:30080-:80,hostfwd=tcp:127.0.0.1:30081-:8080'/>"
            + "</qemu:commandline>\n</domain>\n";
    static final String COOKIE = "<qemu-status-cookie><cpu mode='custom'/></qemu-status-cookie>\n";

    @TempDir
    Path tmp;

    /** A save image as libvirt 9.0 writes it: header, XML, cookie, 64 KiB of room, then the stream. */
    static byte[] saveImage(String xml, String cookie, byte[] stream) {
        byte[] x = (xml + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] c = (cookie + "\0").getBytes(StandardCharsets.UTF_8);
        int dataLen = x.length + c.length + 64 * 1024;
        ByteBuffer b = ByteBuffer.allocate(92 + dataLen + stream.length).order(ByteOrder.nativeOrder());
        b.put("LibvirtQemudSave".getBytes(StandardCharsets.US_ASCII));
        b.putInt(2).putInt(dataLen).putInt(1).putInt(0).putInt(x.length);
        b.position(92);
        b.put(x).put(c);
        b.position(92 + dataLen);
        b.put(stream);
        return b.array();
    }

    @Test
    void readsAndRewritesTheHeaderLeavingTheStreamAlone() throws IOException {
        byte[] stream = new byte[300_000];
        Arrays.fill(stream, (byte) 0x5a);
        stream[0] = 'Q';
        Path file = Files.write(tmp.resolve("a.save"), saveImage(XML, COOKIE, stream));
        LibvirtSaveImage.Header h = LibvirtSaveImage.read(file);
        assertEquals(2, h.version());
        assertEquals(1, h.wasRunning());
        assertEquals(XML, h.xml());
        assertEquals(COOKIE, h.cookie());

        String renamed = LibvirtSaveImage.renamed(h.xml(), "bench-clone-1", "7c0d4a1e-2222-4f5e-9a6b-3c2d1e0f9a8b",
                Map.of(30080, 31080, 30081, 31081), "52:54:00:00:00:01");
        assertTrue(renamed.contains("<name>bench-clone-1</name>"), renamed);
        assertTrue(renamed.contains("7c0d4a1e-2222-4f5e-9a6b-3c2d1e0f9a8b"));
        assertTrue(renamed.contains("hostfwd=tcp:127.0.0.1:31080-:80,hostfwd=tcp:127.0.0.1:31081-:8080"), renamed);
        assertTrue(renamed.contains("/var/log/libvirt/qemu/bench-clone-1-serial.log"));
        assertTrue(renamed.contains("52:54:00:00:00:01"));
        assertFalse(renamed.contains("bench-a"));

        long size = Files.size(file);
        LibvirtSaveImage.rewriteXml(file, renamed);
        assertEquals(size, Files.size(file));
        LibvirtSaveImage.Header again = LibvirtSaveImage.read(file);
        assertEquals(renamed, again.xml());
        assertEquals(COOKIE, again.cookie(), "the cookie moves with the XML's new length");
        assertEquals(h.dataLen(), again.dataLen());
        byte[] all = Files.readAllBytes(file);
        assertArrayEquals(stream, Arrays.copyOfRange(all, 92 + h.dataLen(), all.length), "the stream is untouched");
    }

    @Test
    void refusesAnXmlThatDoesNotFit() throws IOException {
        Path file = Files.write(tmp.resolve("a.save"), saveImage(XML, COOKIE, new byte[10]));
        String huge = XML.replace("</domain>", "<description>" + "x".repeat(70 * 1024) + "</description></domain>");
        IOException e = assertThrows(IOException.class, () -> LibvirtSaveImage.rewriteXml(file, huge));
        assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
        assertEquals(XML, LibvirtSaveImage.read(file).xml(), "unchanged");
    }

    @Test
    void refusesWhatIsNotACompleteSaveImage() throws IOException {
        byte[] partial = saveImage(XML, COOKIE, new byte[10]);
        System.arraycopy("LibvirtQemudPart".getBytes(StandardCharsets.US_ASCII), 0, partial, 0, 16);
        Path file = Files.write(tmp.resolve("p.save"), partial);
        assertThrows(IOException.class, () -> LibvirtSaveImage.read(file));
        Path shortFile = Files.write(tmp.resolve("s.save"), new byte[40]);
        assertThrows(IOException.class, () -> LibvirtSaveImage.read(shortFile));
    }

    @Test
    void refusesHostileXmlAndValues() {
        String doctype = "<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><domain><name>&e;</name></domain>";
        assertThrows(IOException.class, () -> LibvirtSaveImage.renamed(doctype, "x", "7c0d4a1e-2222-4f5e-9a6b-3c2d1e0f9a8b",
                Map.of(), null));
        assertThrows(IllegalArgumentException.class, () -> LibvirtSaveImage.renamed(XML, "x</name>", "7c0d4a1e-2222-4f5e-9a6b-3c2d1e0f9a8b",
                Map.of(), null));
        assertThrows(IllegalArgumentException.class, () -> LibvirtSaveImage.renamed(XML, "x", "not-a-uuid", Map.of(), null));
    }

    @Test
    void readsAndRewritesTheTestDriversFormat() throws IOException {
        byte[] xml = XML.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(15 + 4 + xml.length).order(ByteOrder.nativeOrder());
        b.put("TestGuestMagic\0".getBytes(StandardCharsets.US_ASCII)).putInt(xml.length).put(xml);
        Path file = Files.write(tmp.resolve("t.save"), b.array());
        LibvirtSaveImage.Header h = LibvirtSaveImage.read(file);
        assertEquals(XML, h.xml());
        String longer = XML.replace("</domain>", "<description>" + "y".repeat(200_000) + "</description></domain>");
        LibvirtSaveImage.rewriteXml(file, longer);
        assertEquals(longer, LibvirtSaveImage.read(file).xml(), "the test driver's file is the XML: it may grow");
        assertEquals(15 + 4 + longer.length(), Files.size(file));
    }

    @Test
    void relocatedNamesTheNewHostItsPortsAndItsStagedFiles() throws Exception {
        VmSpec spec = Fixtures.spec("vm-1", Fixtures.http());
        FarmMetadata before = FarmMetadata.of(spec, "alpha", List.of(new FarmMetadata.PortBinding("wiki", 80, 30080)));
        org.w3c.dom.Document doc = DomainXml.skeleton("qemu", spec, before);
        String xml = DomainXml.serialize(doc).replace("</domain>", "<os><kernel>/a/kernel</kernel><initrd>/a/initrd"
                + "</initrd></os><devices><disk type='file' device='disk'><source file='/a/disk'/></disk></devices>"
                + "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='"
                + "user,id=sfnet0,restrict=on,hostfwd=tcp:127.0.0.1:30080-:80'/></qemu:commandline></domain>");
        FarmMetadata after = FarmMetadata.of(spec, "beta", List.of(new FarmMetadata.PortBinding("wiki", 80, 31080)));
        String moved = LibvirtSaveImage.relocated(xml, after, Map.of(30080, 31080), Map.of(Artifact.Kind.KERNEL,
                "/b/kernel", Artifact.Kind.INITRD, "/b/initrd", Artifact.Kind.DISK, "/b/disk"));
        FarmMetadata read = FarmMetadata.of(moved).orElseThrow();
        assertEquals("beta", read.host());
        assertEquals(List.of(31080), read.hostPorts());
        assertEquals(before.offering(), read.offering());
        assertTrue(moved.contains("hostfwd=tcp:127.0.0.1:31080-:80"), moved);
        assertTrue(moved.contains("<kernel>/b/kernel</kernel>") && moved.contains("<initrd>/b/initrd</initrd>")
                && moved.contains("file=\"/b/disk\""), moved);
        assertFalse(moved.contains("30080") || moved.contains("/a/"), moved);
        assertEquals("vm-1", DomainXml.nameOf(moved), "the name stays: the saved state is that domain's");
        assertThrows(IOException.class, () -> LibvirtSaveImage.relocated("<domain><name>x</name></domain>", after,
                Map.of(), Map.of()), "a domain the farm did not define is not moved");
    }
}
