package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class DomainXmlTest {

    private static final String HOSTILE = "a'\"<b>&";

    private static FarmMetadata metadata(String vmId, PortBinding... ports) {
        return new FarmMetadata(vmId, "alpha", Fixtures.WIKI.key(), "img-1", List.of(ports));
    }

    @Test
    void hostileNamesStayWellFormedAndRoundTrip() throws Exception {
        String hostileService = "svc</name><x a='1'>&amp;";
        VmSpec spec = new VmSpec(HOSTILE, Fixtures.WIKI, Fixtures.image(Map.of()), 1, 128,
                List.of(new VmSpec.GuestService(hostileService, 80)));
        FarmMetadata metadata = new FarmMetadata(HOSTILE, "alpha", "key'\"<&>", "image]]>", List.of(
                new PortBinding(hostileService, 80, 20000)));

        String xml = render(HostSettings.Kind.TEST, spec, metadata);

        Document document = DomainXml.parse(xml);
        assertEquals("domain", document.getDocumentElement().getTagName());
        assertEquals(1, document.getElementsByTagName("name").getLength(), "no element was injected: " + xml);
        assertEquals(HOSTILE, DomainXml.nameOf(xml));
        assertEquals(metadata, FarmMetadata.of(xml).orElseThrow());
        assertFalse(xml.contains(HOSTILE), "the raw id never appears unescaped");
    }

    @Test
    void domainNamesEncodeOnlyWhatLibvirtRefuses() {
        assertEquals(HOSTILE, DomainXml.domainName(HOSTILE));
        assertEquals("..%2F..%2Fetc", DomainXml.domainName("../../etc"));
        for (String id : List.of("a/b", "a%2Fb", "%", "%25/%2F", "plain", HOSTILE)) {
            assertFalse(DomainXml.domainName(id).contains("/"), id);
            assertEquals(id, DomainXml.vmIdOf(DomainXml.domainName(id)), "round trip of " + id);
        }
        assertNotEquals(DomainXml.domainName("a/b"), DomainXml.domainName("a%2Fb"), "no two ids share a name");
    }

    @Test
    void charactersXmlCannotCarryAreRefused() {
        for (String id : List.of("vm\u0000", "vm\u0001x", "vm\nline", "vm\ttab", "bad\uD800")) {
            HypervisorException e = assertThrows(HypervisorException.class, () -> render(HostSettings.Kind.TEST,
                    Fixtures.spec(id), metadata(id)));
            assertTrue(e.getMessage().contains("VM id"), e.getMessage());
        }
    }

    @Test
    void testDomainsAreTypeTestWithTheSpecsSize() throws Exception {
        VmSpec spec = new VmSpec("vm-1", Fixtures.WIKI, Fixtures.image(Map.of()), 2, 384, List.of(Fixtures.http()));
        Element domain = DomainXml.parse(render(HostSettings.Kind.TEST, spec,
                metadata("vm-1", new PortBinding("wiki", 80, 20005)))).getDocumentElement();

        assertEquals("test", domain.getAttribute("type"));
        Element memory = (Element) domain.getElementsByTagName("memory").item(0);
        assertEquals("MiB", memory.getAttribute("unit"));
        assertEquals("384", memory.getTextContent());
        assertEquals("2", domain.getElementsByTagName("vcpu").item(0).getTextContent());
        assertEquals(0, domain.getElementsByTagNameNS(QemuDomainTemplate.NAMESPACE, "commandline").getLength());
    }

    @Test
    void qemuDomainsBootTheImagesKernelWithAHostForwardPerService() throws Exception {
        VmSpec spec = new VmSpec("vm-q", Fixtures.WIKI, Fixtures.image(Map.of(
                "kernel", "/images/vmlinuz & co", "initrd", "/images/initrd<1>.img")), 1, 128,
                List.of(new VmSpec.GuestService("wiki", 80), new VmSpec.GuestService("ssh", 22)));
        FarmMetadata metadata = metadata("vm-q", new PortBinding("wiki", 80, 20010), new PortBinding("ssh", 22, 20011));

        String xml = render(HostSettings.Kind.QEMU, spec, metadata);
        Element domain = DomainXml.parse(xml).getDocumentElement();

        assertEquals("qemu", domain.getAttribute("type"));
        assertEquals("/images/vmlinuz & co", text(domain, "kernel"));
        assertEquals("/images/initrd<1>.img", text(domain, "initrd"));
        assertEquals("console=ttyS0 quiet", text(domain, "cmdline"));
        NodeList args = domain.getElementsByTagNameNS(QemuDomainTemplate.NAMESPACE, "arg");
        List<String> values = new ArrayList<>();
        for (int i = 0; i < args.getLength(); i++) {
            values.add(((Element) args.item(i)).getAttribute("value"));
        }
        assertEquals(List.of("-netdev",
                "user,id=sfnet0,hostfwd=tcp:127.0.0.1:20010-:80,hostfwd=tcp:127.0.0.1:20011-:22",
                "-device", "virtio-net-pci,netdev=sfnet0"), values);
        assertEquals(metadata, FarmMetadata.of(xml).orElseThrow());
    }

    @Test
    void qemuNeedsAKernel() {
        VmSpec spec = new VmSpec("vm-q", Fixtures.WIKI, Fixtures.image(Map.of("initrd", "/i.img")), 1, 128, List.of());
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> render(HostSettings.Kind.QEMU, spec, metadata("vm-q")));
        assertTrue(e.getMessage().contains("kernel"), e.getMessage());
    }

    @Test
    void domainsWithoutFarmMetadataAreForeign() throws Exception {
        assertTrue(FarmMetadata.of("<domain type='test'><name>test</name></domain>").isEmpty());
        assertTrue(FarmMetadata.of("<domain type='test'><name>x</name><metadata>"
                + "<other:vm xmlns:other='urn:other' id='x'/></metadata></domain>").isEmpty());
    }

    @Test
    void malformedXmlIsAClearError() {
        HypervisorException e = assertThrows(HypervisorException.class, () -> FarmMetadata.of("<domain>"));
        assertTrue(e.getMessage().contains("not well-formed"), e.getMessage());
    }

    private static String render(HostSettings.Kind kind, VmSpec spec, FarmMetadata metadata) throws HypervisorException {
        return DomainTemplate.of(kind).render(spec, metadata, Fixtures.settings(kind));
    }

    private static String text(Element parent, String tag) {
        return parent.getElementsByTagName(tag).item(0).getTextContent();
    }
}
