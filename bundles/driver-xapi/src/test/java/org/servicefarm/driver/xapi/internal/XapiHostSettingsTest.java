package org.servicefarm.driver.xapi.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;

class XapiHostSettingsTest {

    private static final Set<URI> POOLS = Set.of(URI.create("https://xen1.example.com:443"),
            URI.create("http://127.0.0.1:8080"));

    private static HostRecord host(String uri, Map<String, String> properties) {
        return new HostRecord("xen1", "xapi", uri, new Capacity(8, 8192, 8), 0.04, "standard", properties, 1.0);
    }

    @Test
    void aPoolIsNamedByItsAddressAlone() {
        assertEquals(URI.create("https://xen1.example.com:443"), XapiHostSettings.poolAddress("HTTPS://Xen1.Example.com/"));
        assertEquals(URI.create("http://127.0.0.1:8080"), XapiHostSettings.poolAddress("http://127.0.0.1:8080"));
        XapiHostSettings settings = XapiHostSettings.of(host("https://xen1.example.com", Map.of()), POOLS);
        assertEquals("", settings.member(), "the whole pool");
        assertEquals(XapiHostSettings.DEFAULT_TEMPLATE, settings.template());
        assertEquals(XapiHostSettings.DEFAULT_NETWORK, settings.network());
        assertEquals("", settings.storage());
        assertEquals(120, settings.addressTimeout().toSeconds());
    }

    @Test
    void credentialsNeverTravelUnencryptedOffTheMachineNorToAPoolNotConfigured() {
        for (String uri : new String[] {"http://xen1.example.com", "http://localhost:8080", "http://10.0.0.1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> XapiHostSettings.poolAddress(uri), uri);
            assertTrue(e.getMessage().contains("https only"), e.getMessage());
        }
        for (String uri : new String[] {"https://root:secret@xen1.example.com", "https://xen1.example.com/jsonrpc",
                "https://xen1.example.com?x=1", "ftp://xen1.example.com", "xen1.example.com"}) {
            assertThrows(IllegalArgumentException.class, () -> XapiHostSettings.poolAddress(uri), uri);
        }
        InvalidRequestException other = assertThrows(InvalidRequestException.class,
                () -> XapiHostSettings.of(host("https://evil.example.com", Map.of()), POOLS));
        assertEquals("uri", other.field());
        assertTrue(other.getMessage().contains("not a pool"), other.getMessage());
    }

    @Test
    void hostKeysAreKnownAndBounded() {
        XapiHostSettings settings = XapiHostSettings.of(host("http://127.0.0.1:8080", Map.of("member", "xen-b",
                "template", "Debian 12",
                "network", "Pool-wide network associated with eth1", "storage", "NFS (shared)",
                "addressTimeoutSeconds", "30")), POOLS);
        assertEquals("xen-b", settings.member());
        assertEquals("Debian 12", settings.template());
        assertEquals("NFS (shared)", settings.storage());
        assertEquals(30, settings.addressTimeout().toSeconds());
        assertEquals("properties.portRange", assertThrows(InvalidRequestException.class, () -> XapiHostSettings
                .of(host("http://127.0.0.1:8080", Map.of("portRange", "1-2")), POOLS)).field());
        assertEquals("properties.template", assertThrows(InvalidRequestException.class, () -> XapiHostSettings
                .of(host("http://127.0.0.1:8080", Map.of("template", "\"; rm -rf /")), POOLS)).field());
        assertEquals("properties.addressTimeoutSeconds", assertThrows(InvalidRequestException.class,
                () -> XapiHostSettings.of(host("http://127.0.0.1:8080", Map.of("addressTimeoutSeconds", "0")), POOLS))
                .field());
    }
}
