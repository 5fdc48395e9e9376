package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.servicefarm.api.InvalidRequestException;

/** The hypervisor.* settings of a host: typed, bounded, unknown keys refused, each refusal naming its field. */
class HostSettingsTest {

    @TempDir
    Path dir;

    private HostRules rules;
    private Path node;

    @BeforeEach
    void rules() throws Exception {
        rules = Fixtures.rules(Map.of("testNodeDirectory", dir.toString()));
        node = Fixtures.nodeFile(dir, "node", 2, 2048);
    }

    private HostSettings settings(Map<String, String> properties) {
        return HostSettings.of(Fixtures.testHost("eps", node, properties), rules);
    }

    @Test
    void testHostDefaults() throws Exception {
        HostSettings settings = HostSettings.of(Fixtures.testHost("alpha", node, Map.of()), rules);

        assertEquals(HostSettings.Kind.TEST, settings.kind());
        assertEquals("test://" + node.toRealPath(), settings.libvirtUri());
        assertEquals("127.0.0.1", settings.endpointHost(), "endpoints are an address a client connects to, never "
                + "the farm's name for the host");
        assertTrue(settings.local(), "a test host's ports are this machine's");
        assertEquals(0, settings.bootTimeMs());
        assertEquals(20000, settings.ports().first());
        assertEquals(20999, settings.ports().last());
        assertEquals("127.0.0.1", settings.forwardAddress());
        assertEquals("servicefarm", settings.stagingPool());
        assertEquals("/var/lib/libvirt/images/servicefarm", settings.stagingDirectory());
        assertEquals("libvirt-qemu:libvirt-qemu", settings.guestLabel());
    }

    @Test
    void propertiesAreRead() {
        HostSettings settings = settings(Map.of("bootTimeMs", "3000", "restoreTimeMs", "800",
                "endpointHost", "farm.example.org", "portRange", "21000-21099", "forwardAddress", "::1"));

        assertEquals(3000, settings.bootTimeMs());
        assertEquals(800, settings.restoreTimeMs());
        assertEquals("farm.example.org", settings.endpointHost());
        assertEquals(21000, settings.ports().first());
        assertEquals(21099, settings.ports().last());
        assertEquals("[::1]", settings.forwardAddress(), "IPv6 in brackets, as QEMU's hostfwd takes it");
        assertEquals(600_000, settings(Map.of("bootTimeMs", "600000")).bootTimeMs());
        assertEquals(1024, settings(Map.of("portRange", "1024-65535")).ports().first());
        assertEquals("10.0.0.7", settings(Map.of("endpointHost", "10.0.0.7")).endpointHost());
        assertEquals("fe80::1", settings(Map.of("endpointHost", "fe80::1")).endpointHost());
        assertEquals("my_host-1", settings(Map.of("endpointHost", "my_host-1")).endpointHost());
        assertEquals("10.1.2.3", settings(Map.of("forwardAddress", "10.1.2.3")).endpointHost(),
                "unset, the endpoint host is where the ports are forwarded from");
        assertEquals("127.0.0.1", settings(Map.of("forwardAddress", "0.0.0.0")).endpointHost(),
                "or loopback when they are forwarded from every address");
        HostSettings staging = settings(Map.of("stagingPool", "sf-images", "stagingDirectory", "/srv/sf/pool"));
        assertEquals("sf-images", staging.stagingPool());
        assertEquals("/srv/sf/pool", staging.stagingDirectory());
        assertEquals("qemu:kvm", settings(Map.of("guestLabel", "qemu:kvm")).guestLabel());
        assertEquals("+107:+107", settings(Map.of("guestLabel", "+107:+107")).guestLabel());
    }

    @ParameterizedTest(name = "{0} = ''{1}''")
    @CsvSource(delimiter = '|', value = {
            "bootTimeMs      | -1",
            "bootTimeMs      | soon",
            "bootTimeMs      | 600001",
            "bootTimeMs      | 99999999999999999999",
            "bootTimeMs      | 1e3",
            "restoreTimeMs   | 3600000",
            "restoreTimeMs   | +5",
            "portRange       | 0-70000",
            "portRange       | 20000-19000",
            "portRange       | 80-90",
            "portRange       | 1023-2000",
            "portRange       | 65000-65536",
            "portRange       | 20000",
            "portRange       | a-b",
            "portRange       | -5",
            "endpointHost    | a;id",
            "endpointHost    | a b",
            "endpointHost    | -oProxyCommand=x",
            "endpointHost    | host/path",
            "endpointHost    | '$(id)'",
            "forwardAddress  | 0.0.0.0,hostfwd=tcp::1-:22",
            "forwardAddress  | localhost",
            "forwardAddress  | 127.000.0.1",
            "forwardAddress  | 0x7f.0.0.1",
            "forwardAddress  | 256.1.1.1",
            "forwardAddress  | fe80::1%eth0",
            "stagingPool     | a/b",
            "stagingPool     | -pool",
            "stagingPool     | '<pool>'",
            "stagingDirectory | relative/dir",
            "stagingDirectory | /srv/../etc",
            "stagingDirectory | /srv/a b",
            "stagingDirectory | /srv/$(id)",
            "guestLabel      | root",
            "guestLabel      | a:b:c",
            "guestLabel      | '<x>:y'",
            "guestLabel      | Qemu:qemu",
            "bootTimeMS      | 3000",
            "command         | /bin/sh"})
    void badSettingsAreRefusedNamingTheirField(String key, String value) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> settings(Map.of(key, value)));
        assertEquals("properties." + key, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith("properties." + key + " "), e.getMessage());
    }

    @Test
    void unknownKeysAreRefusedListingTheKnownOnes() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> settings(Map.of("bootTimeMS", "3000")));
        assertTrue(e.getMessage().contains("properties.bootTimeMs"), e.getMessage());
    }

    @Test
    void karafEtcStyleUrisWithAnExtraSlashNameTheSameFile() throws Exception {
        // etc/org.servicefarm.host-*.cfg say test:///${karaf.etc}/..., and karaf.etc is absolute itself.
        HostSettings settings = HostSettings.of(Fixtures.host("gamma", "test:///" + node.toAbsolutePath(), Map.of()),
                rules);
        assertEquals("test://" + node.toRealPath(), settings.libvirtUri());
    }

    @Test
    void pathsWithSpacesAreEscapedForLibvirt() throws Exception {
        Path spaced = Files.createDirectories(dir.resolve("with space"));
        Path delta = Fixtures.nodeFile(spaced, "delta", 1, 1024);
        HostSettings settings = HostSettings.of(Fixtures.testHost("delta", delta, Map.of()), rules);
        assertTrue(settings.libvirtUri().endsWith("/with%20space/delta.xml"), settings.libvirtUri());
        HostSettings encoded = HostSettings.of(Fixtures.host("delta", "test://" + spaced.toString()
                .replace(" ", "%20") + "/delta.xml", Map.of()), rules);
        assertEquals(settings.libvirtUri(), encoded.libvirtUri(), "a percent-encoded path names the same file");
    }

    @Test
    void qemuUris() {
        assertEquals(HostSettings.Kind.QEMU, HostSettings.of(Fixtures.host("q", "qemu:///system", Map.of()), rules).kind());
        HostSettings remote = HostSettings.of(Fixtures.host("q", "qemu+ssh://root@far.example/system", Map.of()), rules);
        assertEquals(HostSettings.Kind.QEMU, remote.kind());
        assertFalse(remote.local(), "a remote host's ports are not checked on this machine");
        assertTrue(remote.portFree(1), "so every port of its range is a candidate");
        assertFalse(remote.shownUri().contains("root"), "user info is not shown: " + remote.shownUri());
    }
}
