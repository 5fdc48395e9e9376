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
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.servicefarm.api.Activation;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.NotFoundException;
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
        NativeService service = NativeServiceConfiguration.toService("s140-wiki", config("s140", "10.0.0.140", 8080, "standard",
                "standard"));
        assertEquals("s140", service.host());
        assertEquals("s140-wiki", service.name());
        assertEquals("s140-wiki", NativeServiceConfiguration.nameOf("org.servicefarm.native~s140-wiki"));
        assertEquals("0b4e-77", NativeServiceConfiguration.nameOf("org.servicefarm.native.0b4e-77"));
        assertEquals("name", assertThrows(InvalidRequestException.class, () -> NativeServiceConfiguration.toService(
                "s140 wiki", config("s140", "10.0.0.140", 80, "standard", "standard"))).field());
        assertEquals("10.0.0.140:8080", service.endpoint().toString());
        assertEquals("wiki@2.1/debian-12/nginx-1.22/php-8.2+cve-1[standard]", service.offering().key());
        assertEquals("[fd00::140]:80", NativeServiceConfiguration.toService("s140-wiki", config("s140", "fd00::140", 80,
                "standard", "standard")).endpoint().toString());
        assertEquals("s140.example.org", NativeServiceConfiguration.toService("s140-wiki", config("s140", "s140.example.org", 80,
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

    @Test
    void anOperatorAddsAndRemovesOneAtRunTimeAndARefusalSavesNothing() throws Exception {
        Map<String, Dictionary<String, Object>> saved = new java.util.concurrent.ConcurrentHashMap<>();
        farm.natives.configurationAdmin = configurationAdmin(saved);
        farm.natives.registrationWait = Duration.ofSeconds(5);
        HttpServer server = serve();
        farm.natives.start(new EndpointProbe());
        Offering wiki = offering(ServiceRequest.of("wiki"));
        NativeService s140 = new NativeService("s140-wiki", "s140", wiki,
                new Endpoint("127.0.0.1", server.getAddress().getPort()), "standard");

        NativeServiceStatus added = farm.manager.registerNative(s140);
        assertEquals(s140, added.service());
        assertTrue(added.answering(), "answered once its first probe ended: " + added);
        assertEquals(List.of("org.servicefarm.native~s140-wiki"), List.copyOf(saved.keySet()));

        assertInstanceOf(ConflictException.class, assertThrows(RuntimeException.class, () -> farm.manager
                .registerNative(new NativeService("S140-WIKI", "s141", wiki, new Endpoint("127.0.0.1", 2), "standard"))));
        assertInstanceOf(ConflictException.class, assertThrows(RuntimeException.class, () -> farm.manager
                .registerNative(new NativeService("again", "s140", wiki, new Endpoint("127.0.0.1", 2), "standard"))));
        Offering windowsWiki = new Offering("wiki", "2.1", new Environment("windows-2022", "iis-10", "php-8.2",
                List.of()), "standard");
        assertEquals("offering", assertThrows(InvalidRequestException.class, () -> farm.manager.registerNative(
                new NativeService("s150", "s150", windowsWiki, new Endpoint("127.0.0.1", 3), "standard"))).field());
        Offering vault = offering(new ServiceRequest("wiki", null, Environment.ANY, "high", null, null));
        assertEquals("securityZone", assertThrows(InvalidRequestException.class, () -> farm.manager.registerNative(
                new NativeService("s151", "s151", vault, new Endpoint("127.0.0.1", 4), "standard"))).field());
        assertEquals(1, saved.size(), "nothing saved for a refusal");
        assertEquals(1, farm.manager.natives().size());

        assertThrows(NotFoundException.class, () -> farm.manager.unregisterNative("s999"));
        assertThrows(NotFoundException.class, () -> farm.manager.unregisterNative("(service.pid=*)"));
        farm.manager.unregisterNative("s140-wiki");
        assertTrue(saved.isEmpty());
        assertEquals(List.of(), farm.manager.natives());
    }

    @Test
    void whatAnotherApplianceAddsThroughItsApiIsFollowedHereAndWhatItRemovesGoes() throws Exception {
        Map<String, Dictionary<String, Object>> saved = new java.util.concurrent.ConcurrentHashMap<>();
        farm.natives.configurationAdmin = configurationAdmin(saved);
        farm.natives.registrationWait = Duration.ofMillis(200); // not started: no probe to wait for
        Map<String, NativeService> farmWide = new java.util.concurrent.ConcurrentSkipListMap<>();
        SharedNatives shared = farm.manager.sharedNatives;
        shared.registrations = new org.servicefarm.api.store.NativeRegistrations() {
            @Override
            public List<NativeService> natives() {
                return List.copyOf(farmWide.values());
            }

            @Override
            public void put(NativeService service) {
                farmWide.put(service.name(), service);
            }

            @Override
            public void remove(String name) {
                farmWide.remove(name);
            }
        };
        Offering wiki = offering(ServiceRequest.of("wiki"));
        NativeService elsewhere = new NativeService("s145-wiki", "s145", wiki, new Endpoint("127.0.0.1", 2), "standard");
        NativeService here = new NativeService("s140-wiki", "s140", wiki, new Endpoint("127.0.0.1", 1), "standard");
        addNative("s150", 3, wiki, "standard"); // a file's: never shared

        farmWide.put(elsewhere.name(), elsewhere);
        shared.follow();
        assertTrue(farm.natives.configured("s145-wiki"), "registered elsewhere: added here");
        farm.manager.registerNative(here);
        assertEquals(Set.of("s140-wiki", "s145-wiki"), farmWide.keySet(), "added here: registered farm-wide");
        shared.follow();
        assertEquals(Set.of("s140-wiki", "s145-wiki", "s150"), names());

        farmWide.remove("s145-wiki"); // removed on the other appliance
        shared.follow();
        assertEquals(Set.of("s140-wiki", "s150"), names());
        farm.manager.unregisterNative("s140-wiki");
        assertTrue(farmWide.isEmpty());

        // added here while no store kept them (another database): published, not removed
        SharedNatives withoutStore = new SharedNatives();
        withoutStore.natives = farm.natives;
        withoutStore.register(here);
        shared.follow();
        assertEquals(Set.of("s140-wiki"), farmWide.keySet());
        assertEquals(Set.of("s140-wiki", "s150"), names());
    }

    private Set<String> names() {
        return farm.manager.natives().stream().map(s -> s.service().name()).collect(java.util.stream.Collectors.toSet());
    }

    /** Configuration Admin with SCR's part played: a saved native configuration becomes a component, bound. */
    private ConfigurationAdmin configurationAdmin(Map<String, Dictionary<String, Object>> saved) {
        Map<String, NativeServiceConfiguration> components = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.function.Function<String, Configuration> configuration = pid -> (Configuration) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {Configuration.class}, (proxy, method, args) ->
                        switch (method.getName()) {
                            case "getPid" -> pid;
                            case "update" -> {
                                @SuppressWarnings("unchecked")
                                Dictionary<String, Object> properties = (Dictionary<String, Object>) args[0];
                                saved.put(pid, properties);
                                Map<String, Object> map = new HashMap<>();
                                java.util.Collections.list(properties.keys()).forEach(k -> map.put(k, properties.get(k)));
                                map.put("service.pid", pid);
                                NativeServiceConfiguration component = new NativeServiceConfiguration();
                                component.activate(Farm.convert(map, NativeServiceConfiguration.Config.class), map);
                                components.put(pid, component);
                                farm.natives.add(component);
                                yield null;
                            }
                            case "delete" -> {
                                saved.remove(pid);
                                farm.natives.remove(components.remove(pid));
                                yield null;
                            }
                            default -> throw new UnsupportedOperationException(method.getName());
                        });
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getFactoryConfiguration" -> configuration.apply(args[0] + "~" + args[1]);
                    case "listConfigurations" -> {
                        org.osgi.framework.Filter filter = org.osgi.framework.FrameworkUtil.createFilter((String) args[0]);
                        Configuration[] found = saved.entrySet().stream().filter(e -> {
                            Map<String, Object> matched = new HashMap<>();
                            java.util.Collections.list(e.getValue().keys()).forEach(k -> matched.put(k, e.getValue().get(k)));
                            matched.put("service.pid", e.getKey());
                            matched.put("service.factoryPid", NativeServiceConfiguration.FACTORY_PID);
                            return filter.matches(matched);
                        }).map(e -> configuration.apply(e.getKey())).toArray(Configuration[]::new);
                        yield found.length == 0 ? null : found;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
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
        properties.put("service.pid", "org.servicefarm.native~" + host);
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
        return assertThrows(InvalidRequestException.class, () -> NativeServiceConfiguration.toService("s140-wiki", config));
    }
}
