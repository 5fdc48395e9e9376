package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.InvalidRequestException;

/**
 * The libvirt URIs a host may name: the shipped allow-list refuses every way a URI could run a program,
 * read a file outside the node directory, open a local socket or point back at the appliance itself.
 * Pure checks: nothing here connects to libvirt.
 */
class HostRulesTest {

    @TempDir
    Path root;

    private Path nodes;
    private Path node;
    private HostRules rules;

    @BeforeEach
    void shippedRules() throws Exception {
        nodes = Files.createDirectories(root.resolve("etc/servicefarm/hosts"));
        node = Fixtures.nodeFile(nodes, "alpha", 2, 2048);
        Files.writeString(root.resolve("etc/shadow"), "root:$y$secret:19000:0:99999:7:::\n");
        rules = Fixtures.rules(Map.of("testNodeDirectory", nodes.toString()));
    }

    private InvalidRequestException refused(HostRules with, String uri) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> with.check(uri), uri);
        assertEquals("uri", e.field(), e.getMessage());
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
        assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c < 0x7f || c == '…'), e.getMessage());
        return e;
    }

    private InvalidRequestException refused(String uri) {
        return refused(rules, uri);
    }

    // --- what is allowed ---------------------------------------------------------------------------------------

    @Test
    void theShippedFormsAreAllowed() throws Exception {
        String real = node.toRealPath().toString();
        assertEquals(new HostRules.Target(HostSettings.Kind.TEST, "test://" + real, true), rules.check("test://" + node));
        assertEquals("test://" + real, rules.check("test:///" + node).libvirtUri(), "test:///${karaf.etc}/... form");
        assertEquals("test:///default", rules.check("test:///default").libvirtUri());
        assertEquals(new HostRules.Target(HostSettings.Kind.QEMU, "qemu:///system", true), rules.check("qemu:///system"));
        assertEquals(new HostRules.Target(HostSettings.Kind.QEMU, "qemu+tls://far.example/system", false),
                rules.check("qemu+tls://far.example/system"), "a remote host's ports are not this machine's");
        assertEquals("qemu+ssh://ops@far.example:2222/system?no_tty=1",
                rules.check("qemu+ssh://ops@far.example:2222/system?no_tty=1").libvirtUri());
        assertEquals("qemu+ssh://203.0.113.5/session", rules.check("qemu+ssh://203.0.113.5/session").libvirtUri());
        assertEquals("qemu+tls://[2001:db8::5]/system", rules.check("qemu+tls://[2001:db8::5]/system").libvirtUri());
    }

    @Test
    void moreCanBeAllowedByConfigurationButNeverTheDangerousParts() {
        HostRules wider = Fixtures.rules(Map.of("testNodeDirectory", nodes.toString(),
                "remoteSchemes", "qemu+tls, qemu+tcp, qemu+ext, qemu+unix",
                "remoteQueryParameters", "no_tty,mode,command,socket",
                "localUris", "qemu:///session, qemu+unix:///system?socket=/x, file:///etc/passwd"));
        assertEquals("qemu+tcp://far.example/system?mode=direct",
                wider.check("qemu+tcp://far.example/system?mode=direct").libvirtUri());
        assertEquals("qemu:///session", wider.check("qemu:///session").libvirtUri());
        refused(wider, "qemu+ext:///system?command=/tmp/x");
        refused(wider, "qemu+unix:///system?socket=/tmp/x");
        refused(wider, "qemu+tcp://far.example/system?command=/tmp/x");
        refused(wider, "qemu+tcp://far.example/system?socket=/tmp/x");
        refused(wider, "file:///etc/passwd");
        refused(wider, "qemu+ssh://far.example/system");
    }

    @Test
    void nothingIsAllowedThatTheConfigurationLeavesOut() {
        HostRules none = Fixtures.rules(Map.of("testNodeDirectory", "", "testDefaultAllowed", false,
                "localUris", "", "remoteSchemes", "", "remoteQueryParameters", ""));
        refused(none, "test://" + node);
        refused(none, "test:///default");
        refused(none, "qemu:///system");
        refused(none, "qemu+ssh://far.example/system");
        refused(none, "qemu+tls://far.example/system?no_tty=1");
        assertTrue(refused(none, "vmware://x/").getMessage().contains("accepts nothing"));
    }

    @Test
    void outsideKarafTheDefaultNodeDirectoryIsNowhere() throws Exception {
        String before = System.clearProperty("karaf.etc");
        try {
            HostRules shipped = Fixtures.rules(Map.of());
            assertTrue(shipped.nodeDirectory().isEmpty());
            refused(shipped, "test://" + node);
            System.setProperty("karaf.etc", root.resolve("etc").toString());
            assertEquals(nodes.toAbsolutePath(), Fixtures.rules(Map.of()).nodeDirectory().orElseThrow());
            assertEquals("test://" + node.toRealPath(), Fixtures.rules(Map.of()).check("test://" + node).libvirtUri());
        } finally {
            if (before == null) {
                System.clearProperty("karaf.etc");
            } else {
                System.setProperty("karaf.etc", before);
            }
        }
    }

    // --- schemes -----------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "file:///", "vmware://esx/", "esx://esx.example/", "vpx://vc/dc",
            "xen:///system", "lxc:///system", "openvz:///system", "vbox:///session", "bhyve:///system",
            "ch:///system", "qemu:///session", "qemu://far.example/system", "qemu+unix:///system",
            "qemu+unix:///system?socket=/run/x.sock", "qemu+ext:///system?command=/tmp/run.sh",
            "qemu+tcp://far.example/system", "qemu+libssh://far.example/system", "http://far.example/",
            "test+ssh://far.example/default", "remote://far.example/", "/etc/passwd", "qemu", "ALPHA"})
    void everyOtherSchemeIsRefused(String uri) {
        refused(uri);
    }

    // --- test driver node files --------------------------------------------------------------------------------

    @Test
    void nodeFilesOutsideTheDirectoryAreRefusedWithoutSayingWhetherTheyExist() {
        String shadow = refused("test:///" + root.resolve("etc/shadow")).getMessage();
        String missing = refused("test:///" + root.resolve("etc/nothing-here")).getMessage();
        assertEquals(shadow, missing, "the same words whether or not the file exists");
        assertTrue(shadow.contains("must be inside " + nodes), shadow);
        refused("test:///etc/shadow");
        refused("test:///etc/passwd");
        refused("test:///proc/self/environ");
        refused("test:///dev/zero");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/../../shadow", "/../alpha.xml/../../shadow", "/%2e%2e/%2e%2e/shadow",
            "/%2E%2E/%2E%2E/shadow", "/.%2e/.%2e/shadow", "/%2e%2e%2f%2e%2e%2fshadow", "/./alpha.xml", "/%2e/alpha.xml",
            "/sub/../alpha.xml", "//../../shadow"})
    void traversalSpellingsAreRefused(String tail) {
        refused("test://" + nodes + tail);
    }

    @Test
    void traversalFromTheRootIsRefused() {
        refused("test:///../../etc/passwd");
        refused("test:///%2e%2e/etc/passwd");
        refused("test:////../etc/passwd");
    }

    @Test
    void symbolicLinksMustNotLeadOut() throws Exception {
        Path outside = root.resolve("etc/shadow");
        Files.createSymbolicLink(nodes.resolve("shadow.xml"), outside);
        Files.createSymbolicLink(nodes.resolve("etc"), root.resolve("etc"));
        Files.createSymbolicLink(nodes.resolve("dangling.xml"), root.resolve("etc/none"));
        Files.createSymbolicLink(nodes.resolve("inside.xml"), node);
        String escape = refused("test://" + nodes.resolve("shadow.xml")).getMessage();
        String dangling = refused("test://" + nodes.resolve("dangling.xml")).getMessage();
        assertEquals(escape, dangling, "no word on what lies outside");
        refused("test://" + nodes.resolve("etc/shadow"));
        assertEquals("test://" + node.toRealPath(), rules.check("test://" + nodes.resolve("inside.xml")).libvirtUri(),
                "a link that stays inside is fine, and libvirt gets the file it leads to");
    }

    @Test
    void onlyReadableRegularFilesInsideTheDirectory() throws Exception {
        Files.createDirectories(nodes.resolve("sub"));
        refused("test://" + nodes.resolve("sub"));
        refused("test://" + nodes);
        refused("test://" + nodes + "/");
        refused("test://" + nodes.resolve("missing.xml"));
        Path fifo = nodes.resolve("fifo.xml");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
            refused("test://" + fifo);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/alpha.xml?x=1", "/alpha.xml#frag", "/alpha%00.xml", "/alpha%0a.xml", "/alpha%zz.xml",
            "/alpha%2", "/alpha%C3.xml", "/alpha%7f.xml"})
    void queriesFragmentsAndBadEscapesAreRefused(String tail) {
        refused("test://" + nodes + tail);
    }

    @Test
    void remoteTestUrisAreRefused() {
        assertTrue(refused("test://elsewhere/default").getMessage().contains("remote test driver"));
        refused("test:default");
        refused("test:" + node);
    }

    // --- remote transports -------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"command=/tmp/run.sh", "socket=/run/libvirt/libvirt-sock", "netcat=/tmp/nc",
            "keyfile=/root/.ssh/id_rsa", "known_hosts=/tmp/kh", "known_hosts_verify=ignore", "proxy=netcat",
            "pkipath=/tmp/pki", "name=qemu:///system", "no_verify=1", "tls_priority=NONE", "mode=legacy",
            "sshauth=password", "COMMAND=/tmp/x", "no_tty=1&command=/tmp/x", "no_tty=1&", "&no_tty=1",
            "no_tty=$(id)", "no_tty=a;b", "c%6fmmand=/tmp/x"})
    void onlyAllowListedQueryParametersPass(String query) {
        refused("qemu+ssh://far.example/system?" + query);
        refused("qemu+tls://far.example/system?" + query);
    }

    @Test
    void aPasswordInTheUserInfoIsRefusedWithoutRepeatingIt() {
        InvalidRequestException e = refused("qemu+ssh://ops:hunter2@far.example/system");
        assertTrue(e.getMessage().contains("password"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2") || e.getMessage().contains("ops"), e.getMessage());
        refused("qemu+tls://:hunter2@far.example/system");
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu+ssh://-oProxyCommand=sh@far.example/system", "qemu+ssh://a b@far.example/system",
            "qemu+ssh://@far.example/system", "qemu+ssh://far.example/", "qemu+ssh://far.example",
            "qemu+ssh://far.example/system/../session", "qemu+ssh://far.example/etc/passwd",
            "qemu+ssh://far.example/system#x", "qemu+ssh://far.example:0/system", "qemu+ssh://far.example:99999/system",
            "qemu+ssh://far.example:ssh/system", "qemu+ssh:///system", "qemu+ssh://-oProxyCommand=x/system",
            "qemu+ssh://far_example/system", "qemu+ssh://far.example%2flocalhost/system", "qemu+ssh:far.example/system",
            "qemu+ssh://[not-ipv6]/system", "qemu+ssh://[fe80::1%25eth0]/system", "qemu+ssh://2130706433/system",
            "qemu+ssh://0x7f.1/system", "qemu+ssh://127.1/system", "qemu+ssh://0177.0.0.1/system",
            "qemu+ssh://1.2.3/system"})
    void malformedRemoteUrisAreRefused(String uri) {
        refused(uri);
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "LOCALHOST", "localhost.", "farm.localhost", "127.0.0.1", "127.0.0.2",
            "127.255.255.254", "0.0.0.0", "[::1]", "[::]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]",
            "[::127.0.0.1]", "[::ffff:0.0.0.0]"})
    void remoteUrisMustNotPointAtThisMachine(String host) {
        InvalidRequestException ssh = refused("qemu+ssh://nobody@" + host + "/system");
        assertTrue(ssh.getMessage().contains("own machine"), ssh.getMessage());
        refused("qemu+tls://" + host + ":16514/system");
    }

    @Test
    void norAtItsOwnNameOrTheAddressesOfItsInterfaces() throws Exception {
        String own = InetAddress.getLocalHost().getHostName();
        if (Addresses.dnsName(own)) {
            assertTrue(refused("qemu+ssh://" + own + "/system").getMessage().contains("own machine"));
            refused("qemu+ssh://" + own.toUpperCase(java.util.Locale.ROOT) + "/system");
        }
        List<InetAddress> interfaces = new ArrayList<>();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            interfaces.addAll(Collections.list(nic.getInetAddresses()));
        }
        assertFalse(interfaces.isEmpty());
        for (InetAddress address : interfaces) {
            String text = address.getHostAddress();
            if (address instanceof Inet6Address) {
                if (text.contains("%")) {
                    continue; // a zone id is refused anyway (no '%' in remote URIs)
                }
                text = "[" + text + "]";
            }
            assertTrue(refused("qemu+ssh://" + text + "/system").getMessage().contains("own machine"), text);
        }
    }

    @Test
    void aNameThatResolvesToThisMachineIsRefused() throws Exception {
        // the names /etc/hosts gives loopback addresses (other than localhost itself, refused by name)
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/etc/hosts"))) {
            String[] words = line.replaceFirst("#.*", "").trim().split("\\s+");
            if (words.length > 1 && (words[0].startsWith("127.") || words[0].equals("::1"))) {
                for (int i = 1; i < words.length; i++) {
                    if (Addresses.dnsName(words[i]) && !Addresses.namesThisMachine(words[i])) {
                        names.add(words[i]);
                    }
                }
            }
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(names.isEmpty(), "/etc/hosts names no other loopback host");
        for (String name : names) {
            assertTrue(refused("qemu+ssh://" + name + "/system").getMessage().contains("own machine"), name);
        }
    }
}
