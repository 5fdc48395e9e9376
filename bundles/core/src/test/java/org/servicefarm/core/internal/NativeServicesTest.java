package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

/**
 * Services hosts run themselves: configured from their factory configuration, probed on a real HTTP server (a
 * "physical host" on loopback), granted without a VM while they answer, left to VMs once they stop.
 */
class NativeServicesTest {

    private static final Duration LONG = Duration.ofSeconds(60);
    private final Farm farm = new Farm(Map.of());
    private final List<HttpServer> servers = new java.util.ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(server -> server.stop(0));
        farm.natives.deactivate();
        farm.close();
    }

    @Test
    void aConfigurationNamesEveryFieldAndRefusesWhatCouldReachAShellOrAZoneFile() {
        NativeService service = NativeServiceConfiguration.toService(config("s140", "10.0.0.140", 8080, "standard",
                "standard"));
        assertEquals("s140", service.host());
        assertEquals("10.0.0.140:8080", service.endpoint().toString());
        assertEquals("wiki@2.1/debian-12/nginx-1.22/php-8.2+cve-1[standard]", service.offering().key());
        assertEquals("[fd00::140]:80", NativeServiceConfiguration.toService(config("s140", "fd00::140", 80,
                "standard", "standard")).endpoint().toString());
        assertEquals("s140.example.org", NativeServiceConfiguration.toService(config("s140", "s140.example.org", 80,
                "standard", "standard")).endpoint().host());

        assertEquals("address", refused(config("s140", "10.0.0.1;reboot", 80, "standard", "standard")).field());
        assertEquals("address", refused(config("s140", "s140 example", 80, "standard", "standard")).field());
        assertEquals("address", refused(config("s140", "-s140", 80, "standard", "standard")).field());
        assertEquals("host", refused(config("s 140", "10.0.0.140", 80, "standard", "standard")).field());
        assertEquals("port", refused(config("s140", "10.0.0.140", 0, "standard", "standard")).field());
        assertEquals("securityZone", refused(config("s140", "10.0.0.140", 80, "<zone>", "standard")).field());
        Map<String, Object> noOs = properties("s140", "10.0.0.140", 80, "standard", "standard");
        noOs.put("os", ""); // "os =" in the file
        assertEquals("os", refused(Farm.convert(noOs, NativeServiceConfiguration.Config.class)).field());
    }

    @Test
    void anAnsweringNativeServiceIsGrantedWithoutAVmAndAStoppedOneIsLeftToVms() throws Exception {
        Offering wiki = offering(ServiceRequest.of("wiki"));
        HttpServer server = serve();
        addNative("s140", server.getAddress().getPort(), wiki, "standard");
        farm.natives.start(new EndpointProbe());
        awaitAnswering("s140", true);

        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class,
                farm.manager.request(ServiceRequest.of("wiki").withDeadline(LONG)));
        assertEquals(Activation.NATIVE, granted.activation());
        assertNull(granted.vmId());
        assertEquals("s140", granted.hostId());
        assertEquals(server.getAddress().getPort(), granted.endpoint().port());
        assertEquals(wiki, granted.offering());
        assertEquals(0, farm.table.vms().size(), "no VM was created");
        assertTrue(farm.manager.explain(ServiceRequest.of("wiki")).action().contains("host s140 runs itself"));
        assertEquals(1, status("s140").grants());
        assertFalse(farm.manager.prewarm(wiki), "no VM is pre-warmed for what a host serves itself");
        assertEquals(0, farm.table.vms().size());

        server.stop(0);
        farm.natives.recheck();
        awaitAnswering("s140", false);
        assertTrue(status("s140").detail() != null, "says what the probe met");
        Outcome.Granted byVm = assertInstanceOf(Outcome.Granted.class,
                farm.manager.request(ServiceRequest.of("wiki").withDeadline(LONG)));
        assertEquals(Activation.CREATED, byVm.activation());
        assertEquals(1, status("s140").grants());
    }

    @Test
    void severalAnsweringHostsShareTheRequestsAndAnIsolatedLevelIsServedOnlyInItsZone() throws Exception {
        Offering wiki = offering(ServiceRequest.of("wiki"));
        addNative("s145", serve().getAddress().getPort(), wiki, "standard");
        addNative("s140", serve().getAddress().getPort(), wiki, "standard");
        Offering vault = offering(new ServiceRequest("wiki", null, Environment.ANY, "high", null, null));
        addNative("s150", serve().getAddress().getPort(), vault, "standard");
        farm.natives.start(new EndpointProbe());
        awaitAnswering("s140", true);
        awaitAnswering("s145", true);
        awaitAnswering("s150", true);

        List<String> hosts = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            hosts.add(farm.natives.take(wiki).orElseThrow().host());
        }
        // least granted first, ties by name
        assertEquals(List.of("s140", "s145", "s140", "s145"), hosts);
        assertTrue(farm.natives.take(vault).isEmpty(), "a host of the standard zone does not serve level high");
        assertTrue(status("s150").detail().contains("it is not granted: security level high runs only in zone high"),
                status("s150").detail());
        assertNull(status("s140").detail(), "answering and reachable: nothing to say");
        assertFalse(farm.natives.next(wiki).isEmpty());
        assertEquals(2, status("s140").grants());
    }

    @Test
    void aNativeServiceNoRequestCanReachSaysSo() {
        Offering windowsWiki = new Offering("wiki", "2.1", new Environment("windows-2022", "iis-10", "php-8.2",
                List.of()), "standard");
        addNative("s160", 1, windowsWiki, "standard");
        String detail = status("s160").detail();
        assertTrue(detail.startsWith("not probed yet; no request reaches it: the catalog does not offer it ("), detail);
    }

    private Offering offering(ServiceRequest request) {
        return assertInstanceOf(Resolution.Viable.class, farm.directory.resolve(request)).offering();
    }

    private HttpServer serve() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        servers.add(server);
        return server;
    }

    private void addNative(String host, int port, Offering offering, String zone) {
        Map<String, Object> properties = properties(host, "127.0.0.1", port, zone, offering.securityLevel());
        properties.putAll(Map.of("service", offering.service(), "version", offering.version(),
                "os", offering.environment().os(), "server", offering.environment().server(),
                "runtime", offering.environment().runtime(),
                "patches", offering.environment().patches().toArray(String[]::new)));
        NativeServiceConfiguration configuration = new NativeServiceConfiguration();
        configuration.activate(Farm.convert(properties, NativeServiceConfiguration.Config.class), properties);
        farm.natives.add(configuration);
    }

    private NativeServiceStatus status(String host) {
        return farm.manager.natives().stream().filter(s -> s.service().host().equals(host)).findFirst()
                .orElseThrow();
    }

    private void awaitAnswering(String host, boolean answering) {
        Farm.await(host + (answering ? " answering" : " not answering"),
                () -> status(host).answering() == answering && status(host).since() != null,
                () -> farm.manager.natives().toString());
    }

    private static NativeServiceConfiguration.Config config(String host, String address, int port, String zone,
                                                            String level) {
        return Farm.convert(properties(host, address, port, zone, level), NativeServiceConfiguration.Config.class);
    }

    private static Map<String, Object> properties(String host, String address, int port, String zone, String level) {
        Map<String, Object> properties = new HashMap<>(Map.of("host", host, "address", address, "port", port,
                "securityZone", zone, "securityLevel", level));
        properties.putAll(Map.of("service", "wiki", "version", "2.1", "os", "debian-12", "server", "nginx-1.22",
                "runtime", "php-8.2", "patches", "cve-1"));
        return properties;
    }

    private static InvalidRequestException refused(NativeServiceConfiguration.Config config) {
        return assertThrows(InvalidRequestException.class, () -> NativeServiceConfiguration.toService(config));
    }
}
