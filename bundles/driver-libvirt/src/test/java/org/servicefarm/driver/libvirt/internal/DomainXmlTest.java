package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class DomainXmlTest {

    private static final String HOSTILE = "a'\"<b>&";

    private static FarmMetadata metadata(String vmId, PortBinding... ports) {
        return new FarmMetadata(vmId, "alpha", Fixtures.WIKI, "img-1", new Capacity(1, 128, 1), Fixtures.CREATED,
                List.of(ports), null);
    }

    @Test
    void hostileNamesStayWellFormedAndRoundTrip() throws Exception {
        String hostileService = "svc</name><x a='1'>&amp;";
        VmSpec spec = new VmSpec(HOSTILE, Fixtures.WIKI, Fixtures.staged(), 1, 128,
                List.of(new VmSpec.GuestService(hostileService, 80)), Fixtures.CREATED);
        FarmMetadata metadata = new FarmMetadata(HOSTILE, "alpha", Fixtures.WIKI, "image]]>'\"<&", new Capacity(1, 128, 1),
                Fixtures.CREATED, List.of(new PortBinding(hostileService, 80, 20000)), null);

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
        VmSpec spec = new VmSpec("vm-1", Fixtures.WIKI, Fixtures.staged(), 2, 384, List.of(Fixtures.http()), Fixtures.CREATED);
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
    void qemuDomainsBootTheStagedKernelWithAHostForwardPerService() throws Exception {
        VmSpec spec = new VmSpec("vm-q", Fixtures.WIKI, Fixtures.staged("", Map.of(
                Artifact.Kind.KERNEL, "/pool/vmlinuz & co", Artifact.Kind.INITRD, "/pool/initrd<1>.img")), 1, 128,
                List.of(new VmSpec.GuestService("wiki", 80), new VmSpec.GuestService("ssh", 22)), Fixtures.CREATED);
        FarmMetadata metadata = metadata("vm-q", new PortBinding("wiki", 80, 20010), new PortBinding("ssh", 22, 20011));

        String xml = render(HostSettings.Kind.QEMU, spec, metadata);
        Element domain = DomainXml.parse(xml).getDocumentElement();

        assertEquals("qemu", domain.getAttribute("type"));
        assertEquals("/pool/vmlinuz & co", text(domain, "kernel"));
        assertEquals("/pool/initrd<1>.img", text(domain, "initrd"));
        assertEquals("console=ttyS0 quiet", text(domain, "cmdline"), "the driver's default without kernel arguments");
        assertEquals(0, domain.getElementsByTagName("disk").getLength());
        assertEquals(0, domain.getElementsByTagName("graphics").getLength());
        Element serial = (Element) domain.getElementsByTagName("serial").item(0);
        assertEquals("pty", serial.getAttribute("type"));
        assertEquals("/var/log/libvirt/qemu/vm-q-serial.log",
                ((Element) serial.getElementsByTagName("log").item(0)).getAttribute("file"), "the console is kept");
        // the guest reaches nothing outside, not even 10.0.2.2 (the host's loopback); the forwards come in
        assertEquals(List.of("-netdev",
                "user,id=sfnet0,restrict=on,hostfwd=tcp:127.0.0.1:20010-:80,hostfwd=tcp:127.0.0.1:20011-:22",
                "-device", "virtio-net-pci,netdev=sfnet0,bus=pci.0,addr=0x10"), qemuArgs(domain));
        // QEMU reads the shared volumes as they are, as the host's QEMU user: libvirt never chowns them
        Element seclabel = (Element) domain.getElementsByTagName("seclabel").item(0);
        assertEquals("static", seclabel.getAttribute("type"));
        assertEquals("dac", seclabel.getAttribute("model"));
        assertEquals("no", seclabel.getAttribute("relabel"));
        assertEquals("libvirt-qemu:libvirt-qemu", text(seclabel, "label"));
        assertEquals(metadata, FarmMetadata.of(xml).orElseThrow());
    }

    @Test
    void aStagedDiskIsSharedReadOnlyAndTheImagesKernelArgumentsAreUsed() throws Exception {
        VmSpec spec = new VmSpec("vm-d", Fixtures.WIKI, Fixtures.staged("console=ttyS0 root=/dev/vda ro", Map.of(
                Artifact.Kind.KERNEL, "/pool/k", Artifact.Kind.DISK, "/pool/d")), 1, 256, List.of(Fixtures.http()), Fixtures.CREATED);
        Element domain = DomainXml.parse(render(HostSettings.Kind.QEMU, spec,
                metadata("vm-d", new PortBinding("wiki", 80, 20000)))).getDocumentElement();

        assertEquals("console=ttyS0 root=/dev/vda ro", text(domain, "cmdline"));
        assertEquals(0, domain.getElementsByTagName("initrd").getLength());
        Element disk = (Element) domain.getElementsByTagName("disk").item(0);
        assertEquals("/pool/d", ((Element) disk.getElementsByTagName("source").item(0)).getAttribute("file"));
        assertEquals(1, disk.getElementsByTagName("readonly").getLength(), "a staged volume is shared: read-only");
        assertEquals(1, disk.getElementsByTagName("shareable").getLength());
        assertEquals("raw", ((Element) disk.getElementsByTagName("driver").item(0)).getAttribute("type"));
    }

    @Test
    void aQemuDomainUsesTheStagedFilesItBootsAndMountsAndNoOther() throws Exception {
        VmSpec spec = new VmSpec("vm-u", Fixtures.WIKI, Fixtures.staged("console=ttyS0", Map.of(Artifact.Kind.KERNEL,
                "/pool/k", Artifact.Kind.INITRD, "/pool/i", Artifact.Kind.DISK, "/pool/d")), 1, 256,
                List.of(Fixtures.http()), Fixtures.CREATED);
        String xml = render(HostSettings.Kind.QEMU, spec, metadata("vm-u", new PortBinding("wiki", 80, 20000)));
        for (String used : List.of("/pool/k", "/pool/i", "/pool/d")) {
            assertTrue(DomainXml.usesFile(xml, used), used);
        }
        assertFalse(DomainXml.usesFile(xml, "/pool/other"));
        assertFalse(DomainXml.usesFile(xml, "/pool"), "a whole path, not a prefix");
    }

    @Test
    void aConsoleLogIsNamedByTheVmIdOrSafelyAfterIt() {
        assertEquals("sf-0123456789ab", QemuDomainTemplate.logName("sf-0123456789ab"));
        String odd = QemuDomainTemplate.logName("../x/y z");
        assertTrue(odd.matches("[A-Za-z0-9_-][A-Za-z0-9._-]*"), odd);
        assertTrue(!odd.contains("/") && !odd.startsWith("."), odd);
        assertNotEquals(QemuDomainTemplate.logName("a/b"), QemuDomainTemplate.logName("a_b"));
    }

    @Test
    void qemuNeedsAKernel() {
        VmSpec spec = new VmSpec("vm-q", Fixtures.WIKI, Fixtures.staged("", Map.of(Artifact.Kind.INITRD, "/i.img")), 1,
                128, List.of(), Fixtures.CREATED);
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> render(HostSettings.Kind.QEMU, spec, metadata("vm-q")));
        assertTrue(e.getMessage().contains("KERNEL"), e.getMessage());
    }

    @Test
    void whatTheFarmRecordsIsReadBackWholeOrSaysWhatIsMissing() throws Exception {
        FarmMetadata written = FarmMetadata.of(new VmSpec("vm-r", Fixtures.WIKI, Fixtures.staged(), 2, 512,
                List.of(Fixtures.http()), Fixtures.CREATED), "alpha", List.of(new PortBinding("wiki", 80, 20007)));
        FarmMetadata read = FarmMetadata.of(render(HostSettings.Kind.TEST, Fixtures.spec("vm-r"), written)).orElseThrow();
        assertEquals(written, read);
        assertEquals(new GuestInfo.Recorded(new GuestMetadata("vm-r", Fixtures.WIKI, "img-" + Integer.toHexString(
                List.of().hashCode()), new Capacity(2, 512, 1), Map.of("wiki", new Endpoint("10.0.0.9", 20007)),
                Fixtures.CREATED), VmState.SLEEPING), read.guestInfo(VmState.SLEEPING, "10.0.0.9"));

        String tampered = "<domain type='test'><name>vm-t</name><metadata><servicefarm:vm xmlns:servicefarm='"
                + FarmMetadata.NAMESPACE + "' id='vm-t' host='alpha' image='i' vcpus='one' memoryMiB='64' created='x'>"
                + "<servicefarm:offering service='wiki' version='2.1' os='debian 12' server='s' runtime='r' "
                + "securityLevel='standard'/><servicefarm:port service='wiki' guest='80' host='2x'/>"
                + "</servicefarm:vm></metadata></domain>";
        GuestInfo.Unrecorded unrecorded = assertInstanceOf(GuestInfo.Unrecorded.class,
                FarmMetadata.of(tampered).orElseThrow().guestInfo(VmState.ACTIVE, "127.0.0.1"));
        assertEquals("vm-t", unrecorded.vmId());
        for (String part : List.of("a port binding is malformed", "its offering is invalid", "vcpus and memoryMiB",
                "creation time")) {
            assertTrue(unrecorded.reason().contains(part), unrecorded.reason());
        }
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

    /**
     * What the driver writes is valid by libvirt's own schemas (virt-xml-validate from libvirt-clients, which needs
     * xmllint from libxml2-utils); scripts/test installs them, and without them this test fails rather than skips.
     */
    @Test
    void everyDocumentTheDriverWritesValidatesAgainstLibvirtsSchemas(@TempDir Path dir) throws Exception {
        assertTrue(Files.isExecutable(Path.of("/usr/bin/virt-xml-validate")) && Files.isExecutable(Path.of("/usr/bin/xmllint")),
                "virt-xml-validate and xmllint are needed: apt-get install libvirt-clients libxml2-utils (scripts/test does)");
        VmSpec spec = new VmSpec("sf-0123456789ab", Fixtures.WIKI, Fixtures.staged("console=ttyS0 rootfstype=ramfs",
                Map.of(Artifact.Kind.KERNEL, "/pool/k", Artifact.Kind.INITRD, "/pool/i", Artifact.Kind.DISK, "/pool/d")),
                1, 256, List.of(new VmSpec.GuestService("wiki", 80), new VmSpec.GuestService("ssh", 22)), Fixtures.CREATED);
        FarmMetadata metadata = metadata(spec.vmId(), new PortBinding("wiki", 80, 20010), new PortBinding("ssh", 22, 20011));
        Map<String, String> documents = Map.of(
                "qemu-domain", render(HostSettings.Kind.QEMU, spec, metadata),
                "test-domain", render(HostSettings.Kind.TEST, spec, metadata),
                "pool", ImageStaging.poolXml("servicefarm", "/var/lib/libvirt/images/servicefarm"),
                "volume", ImageStaging.volumeXml("0".repeat(64), 31_457_280));
        for (Map.Entry<String, String> document : documents.entrySet()) {
            Path file = Files.writeString(dir.resolve(document.getKey() + ".xml"), document.getValue());
            String schema = document.getKey().endsWith("domain") ? "domain"
                    : document.getKey().equals("pool") ? "storagepool" : "storagevol";
            Process validate = new ProcessBuilder("/usr/bin/virt-xml-validate", file.toString(), schema)
                    .redirectErrorStream(true).start();
            String output = new String(validate.getInputStream().readAllBytes());
            assertTrue(validate.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, validate.exitValue(), document.getKey() + ": " + output + "\n" + document.getValue());
        }
    }

    private static List<String> qemuArgs(Element domain) {
        NodeList args = domain.getElementsByTagNameNS(QemuDomainTemplate.NAMESPACE, "arg");
        List<String> values = new ArrayList<>();
        for (int i = 0; i < args.getLength(); i++) {
            values.add(((Element) args.item(i)).getAttribute("value"));
        }
        return values;
    }

    private static String text(Element parent, String tag) {
        return parent.getElementsByTagName(tag).item(0).getTextContent();
    }
}
