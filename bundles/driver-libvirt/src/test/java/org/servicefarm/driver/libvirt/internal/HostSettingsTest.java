package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.driver.HypervisorException;

class HostSettingsTest {

    @TempDir
    Path dir;

    @Test
    void testHostDefaults() throws Exception {
        Path node = Fixtures.nodeFile(dir, "alpha", 2, 2048);
        HostSettings settings = HostSettings.of(Fixtures.testHost("alpha", node, Map.of()));

        assertEquals(HostSettings.Kind.TEST, settings.kind());
        assertEquals("test://" + node.toAbsolutePath(), settings.libvirtUri());
        assertEquals("alpha", settings.endpointHost(), "endpoints name the host by default");
        assertEquals(0, settings.bootTimeMs());
        assertEquals(20000, settings.ports().first());
        assertEquals(20999, settings.ports().last());
    }

    @Test
    void propertiesAreRead() throws Exception {
        Path node = Fixtures.nodeFile(dir, "beta", 2, 2048);
        HostSettings settings = HostSettings.of(Fixtures.testHost("beta", node, Map.of("bootTimeMs", "3000",
                "restoreTimeMs", "800", "endpointHost", "farm.example.org", "portRange", "21000-21099")));

        assertEquals(3000, settings.bootTimeMs());
        assertEquals(800, settings.restoreTimeMs());
        assertEquals("farm.example.org", settings.endpointHost());
        assertEquals(21000, settings.ports().first());
        assertEquals(21099, settings.ports().last());
    }

    @Test
    void karafEtcStyleUrisWithAnExtraSlashNameTheSameFile() throws Exception {
        // etc/org.servicefarm.host-*.cfg say test:///${karaf.etc}/..., and karaf.etc is absolute itself.
        Path node = Fixtures.nodeFile(dir, "gamma", 2, 2048);
        HostSettings settings = HostSettings.of(Fixtures.host("gamma", "test:///" + node.toAbsolutePath(), Map.of()));
        assertEquals("test://" + node.toAbsolutePath(), settings.libvirtUri());
    }

    @Test
    void pathsWithSpacesAreEscapedForLibvirt() throws Exception {
        Path spaced = Files.createDirectories(dir.resolve("with space"));
        Path node = Fixtures.nodeFile(spaced, "delta", 1, 1024);
        HostSettings settings = HostSettings.of(Fixtures.testHost("delta", node, Map.of()));
        assertTrue(settings.libvirtUri().endsWith("/with%20space/delta.xml"), settings.libvirtUri());
    }

    @Test
    void qemuUris() throws Exception {
        assertEquals(HostSettings.Kind.QEMU,
                HostSettings.of(Fixtures.host("q", "qemu:///system", Map.of())).kind());
        assertEquals(HostSettings.Kind.QEMU,
                HostSettings.of(Fixtures.host("q", "qemu+ssh://root@far/system", Map.of())).kind());
    }

    @Test
    void unknownSchemeIsAClearError() {
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> HostSettings.of(Fixtures.host("x", "xen:///system", Map.of())));
        assertTrue(e.getMessage().contains("unknown URI scheme 'xen'"), e.getMessage());
        assertTrue(e.getMessage().contains("host x"), e.getMessage());
    }

    @Test
    void missingTestFileIsAClearError() {
        Path missing = dir.resolve("nowhere.xml");
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> HostSettings.of(Fixtures.testHost("x", missing, Map.of())));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"),
                e.getMessage());
    }

    @Test
    void badPropertiesAreClearErrors() throws Exception {
        Path node = Fixtures.nodeFile(dir, "eps", 1, 1024);
        Map<Map<String, String>, String> cases = Map.of(
                Map.of("portRange", "20000-19000"), "portRange '20000-19000'",
                Map.of("bootTimeMs", "soon"), "bootTimeMs 'soon'",
                Map.of("bootTimeMs", "-1"), "bootTimeMs '-1'",
                Map.of("endpointHost", "a b"), "endpointHost 'a b'",
                Map.of("forwardAddress", "0.0.0.0,hostfwd=tcp::1-:22"), "forwardAddress",
                Map.of("bootTimeMS", "3000"), "unknown libvirt driver property 'hypervisor.bootTimeMS'");
        for (var entry : cases.entrySet()) {
            HypervisorException e = assertThrows(HypervisorException.class,
                    () -> HostSettings.of(Fixtures.testHost("eps", node, entry.getKey())));
            assertTrue(e.getMessage().contains(entry.getValue()), e.getMessage());
        }
    }

    @Test
    void remoteTestUrisAreRefused() {
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> HostSettings.of(Fixtures.host("r", "test://elsewhere/default", Map.of())));
        assertTrue(e.getMessage().contains("remote test driver"), e.getMessage());
    }
}
