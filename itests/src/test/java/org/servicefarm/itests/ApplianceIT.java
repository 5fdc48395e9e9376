package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.security.auth.Subject;

import org.apache.karaf.features.FeaturesService;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleListener;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.SatisfiedReferenceDTO;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The appliance as it ships (the karaf-assembly zip, booted once for this class), used as a client
 * and an operator would: REST, the shell, and a placement switch at run time.
 * <p>
 * Each test asks for an offering none of the others asked for, so each sees a cold combination.
 * The placement switch changes the appliance for good, so it runs last (methods run by name).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ApplianceIT extends BootedAppliance {

    private static final Duration GRANT = Duration.ofSeconds(60);
    private static final String CORE_BUNDLE = "org.servicefarm.core";
    /** The demo's cheapest (and smallest) host, from etc/org.servicefarm.host-alpha.cfg. */
    private static final String CHEAPEST_HOST = "alpha";

    /** Injected once every boot feature is installed. */
    @Inject
    SessionFactory sessionFactory;

    @Inject
    FeaturesService featuresService;

    @Inject
    ServiceComponentRuntime componentRuntime;

    @Test
    public void a0_theBootLogsNoErrorOfTheFarmsBundles() throws Exception {
        // (a dependency cycle through the farm's listeners logged up to two dozen framework errors on some boots)
        assertEquals(List.of(), farmErrorsLogged());
    }

    @Test
    public void a_restGrantsAnEndpointReusesItAndGuardsAccess() throws Exception {
        ObjectNode offering = offering(0);
        String body = FarmClient.JSON.writeValueAsString(offering);

        assertEquals("no login", 401, client.post("/api/v1/requests", body, Login.NONE).statusCode());
        assertEquals("a viewer may not act", 403, client.post("/api/v1/requests", body, Login.VIEWER).statusCode());
        assertEquals("a viewer may read", 200, client.get("/api/v1/vms", Login.VIEWER).statusCode());

        Grant first = client.requestUntilGranted(body, GRANT);
        // Booting a demo VM takes longer than the default deadline: a cold request is deferred first.
        assertTrue("a cold request is answered RETRY_LATER first", first.retries() >= 1);
        assertEndpoint(first.endpoint());
        assertFalse(first.vmId().isEmpty());
        // The endpoint is an address a client connects to, and the service answers there: on the demo's
        // test-driver hosts the driver's simulated guest does.
        assertEquals("127.0.0.1", first.endpoint().path("host").asText());
        HttpResponse<String> service = client.getService(first.endpoint());
        assertEquals(service.body(), 200, service.statusCode());
        assertEquals("servicefarm-simulated-guest", service.headers().firstValue("Server").orElse(""));
        assertTrue(service.body(), service.body().contains("vm " + first.vmId() + "\n"));
        assertTrue(service.body(), service.body().contains("offering " + offering.path("service").asText() + "@"));
        assertTrue(service.body(), service.body().contains("simulated guest on libvirt test host " + first.hostId()));

        Grant second = client.requestUntilGranted(body, GRANT);
        assertEquals("an identical request is served at once", 0, second.retries());
        assertEquals("ACTIVE", second.activation());
        assertEquals("the same VM serves it", first.vmId(), second.vmId());
        assertEquals(first.endpoint(), second.endpoint());
        // the first request's retries sent back their RETRY_LATER's ticket: two requests counted, not 2 + retries
        JsonNode demand = null;
        for (JsonNode counted : FarmClient.json(client.get("/api/v1/popularity", Login.VIEWER)).path("offerings")) {
            if (counted.path("offering").path("service").equals(offering.path("service"))
                    && counted.path("offering").path("environment").equals(offering.path("environment"))) {
                demand = counted;
            }
        }
        assertNotNull("the offering is counted", demand);
        assertEquals(first.retries() + " retries: " + demand, 2, demand.path("requests").asLong());

        HttpResponse<String> vm = client.get("/api/v1/vms/" + first.vmId(), Login.VIEWER);
        assertEquals(200, vm.statusCode());
        assertEquals("ACTIVE", FarmClient.json(vm).path("state").asText());

        // wiki needs PHP, and Windows runs IIS, which runs .NET or nothing: never viable.
        HttpResponse<String> never = client.post("/api/v1/requests",
                "{\"service\":\"wiki\",\"environment\":{\"os\":\"windows-2022\"}}", Login.ADMIN);
        assertEquals(never.body(), 404, never.statusCode());
        assertEquals("NEVER", FarmClient.json(never).path("outcome").asText());

        HttpResponse<String> malformed = client.post("/api/v1/requests", "{\"service\":", Login.ADMIN);
        assertEquals(malformed.body(), 400, malformed.statusCode());
    }

    @Test
    public void b_shellRequestGrantsAnEndpoint() throws Exception {
        JsonNode offering = offering(1);
        String command = farmRequestCommand(offering);
        Pattern granted = Pattern.compile("GRANTED " + Pattern.quote(offering.path("service").asText())
                + " at (\\S+):(\\d+)");
        Pattern retry = Pattern.compile("RETRY_LATER .*retry after (\\d+) s");
        Instant deadline = Instant.now().plus(GRANT);
        int retries = 0;
        while (true) {
            String output = executeAsAdmin(command);
            Matcher grant = granted.matcher(output);
            if (grant.find()) {
                int port = Integer.parseInt(grant.group(2));
                assertTrue(output, port > 0 && port < 65536);
                assertTrue("a cold request through the shell is deferred first: " + output, retries >= 1);
                break;
            }
            Matcher later = retry.matcher(output);
            assertTrue("granted or deferred, got: " + output, later.find());
            long seconds = Long.parseLong(later.group(1));
            retries++;
            if (Instant.now().plusSeconds(seconds).isAfter(deadline)) {
                fail("not granted within " + GRANT + ": " + output);
            }
            FarmClient.pause(seconds * 1000); // as the answer asked
        }

        String again = executeAsAdmin(command);
        assertTrue("the second identical request reuses the VM: " + again, again.contains("ACTIVE"));
    }

    /**
     * The images bundle on the embedded default: no component repository, so every image is a composition
     * that says why it cannot be real (the test-driver hosts need no more); builds are accepted and followed
     * through REST and the shell; the image cache's eviction policy is the one imagePolicy.target names in
     * org.servicefarm.eviction, rebound at run time.
     */
    @Test
    public void b0_imagesAreCompositionsOnTheDefaultAndTheImagePolicySwitchesAtRunTime() throws Exception {
        JsonNode images = FarmClient.json(client.get("/api/v1/images", Login.VIEWER)).path("images");
        assertTrue("the VMs of the earlier tests have images: " + images, images.size() >= 1);
        int inUse = 0;
        List<String> ids = new ArrayList<>();
        for (JsonNode image : images) {
            assertTrue(image.toString(), image.path("compositionOnly").asBoolean());
            assertTrue(image.toString(), image.path("detail").asText().contains("no component repository at"));
            inUse += image.path("inUse").asInt();
            ids.add(image.path("id").asText());
        }
        long fromListed = liveVms().stream().filter(vm -> ids.contains(vm.path("image").asText())).count();
        assertTrue("the first test's VM runs from a listed image", fromListed >= 1);
        assertEquals("each image counts the live VMs made from it", fromListed, inUse);
        assertEquals(0, FarmClient.json(client.get("/api/v1/components", Login.VIEWER)).path("components").size());

        HttpResponse<String> build = client.post("/api/v1/images", "{\"service\":\"blog\"}", Login.OPERATOR);
        assertEquals(build.body(), 202, build.statusCode());
        String location = build.headers().firstValue("Location").orElseThrow();
        HttpResponse<String> image = client.get(location.substring(location.indexOf("/api/v1/images/")), Login.VIEWER);
        assertEquals(image.body(), "READY", FarmClient.json(image).path("state").asText());
        assertEquals(403, client.post("/api/v1/images", "{\"service\":\"blog\"}", Login.VIEWER).statusCode());

        String shell = executeAsAdmin("farm:build static-site");
        assertTrue(shell, shell.contains("READY img-") && shell.contains("a composition only"));
        assertTrue(executeAsAdmin("farm:images"), executeAsAdmin("farm:images").contains("static-site@1.0"));
        assertTrue(executeAsAdmin("farm:popularity"), executeAsAdmin("farm:popularity").contains("wiki@"));
        assertTrue(executeAsAdmin("farm:components").contains("No component repository"));

        await("the image cache to use gdsf", () -> imagePolicyBound("gdsf"));
        setProperty("org.servicefarm.eviction", "imagePolicy.target", "(eviction.name=lru)");
        await("the image cache to rebind to lru", () -> imagePolicyBound("lru"));
    }

    /** True once the images bundle's image eviction reference is bound to the policy named {@code name}. */
    private boolean imagePolicyBound(String name) {
        for (ComponentDescriptionDTO description : componentRuntime.getComponentDescriptionDTOs(
                bundle("org.servicefarm.images"))) {
            for (ComponentConfigurationDTO configuration : componentRuntime.getComponentConfigurationDTOs(description)) {
                for (SatisfiedReferenceDTO reference : configuration.satisfiedReferences) {
                    if (reference.name.equals("imagePolicy") && Arrays.stream(reference.boundServices)
                            .anyMatch(service -> name.equals(service.properties.get("eviction.name")))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Test
    public void c_placementSwitchesAtRunTimeWithoutRestart() throws Exception {
        Bundle core = bundle(CORE_BUNDLE);
        Map<String, Long> bundleIdsBefore = servicefarmBundleIds();
        Object managerIdBefore = managerServiceId();
        List<String> coreEvents = new CopyOnWriteArrayList<>();
        BundleListener watcher = event -> {
            if (event.getBundle().getBundleId() == core.getBundleId()) {
                coreEvents.add(eventName(event.getType()));
            }
        };
        bundleContext.addBundleListener(watcher);
        try {
            // least-loaded (the default) prefers the emptier host: the earlier tests' VMs (the first on gamma, idle like
            // alpha but with more room; the second on the then emptier alpha) leave the small alpha at half its vCPUs,
            // gamma at an eighth.
            Grant leastLoaded = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(2)), GRANT);
            assertNotEquals("least-loaded does not fill the smallest host first", CHEAPEST_HOST,
                    leastLoaded.hostId());

            featuresService.installFeature("servicefarm-placement-cheapest");
            assertTrue(featuresService.isInstalled(featuresService.getFeature("servicefarm-placement-cheapest")));
            setPlacementTarget("(placement.name=cheapest)");
            await("the core's placement to bind the cheapest strategy", this::cheapestBound);

            Grant cheapest = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(3)), GRANT);
            assertEquals("cheapest places on the cheapest host", CHEAPEST_HOST, cheapest.hostId());
            assertNotEquals(leastLoaded.hostId(), cheapest.hostId());
        } finally {
            bundleContext.removeBundleListener(watcher);
        }

        assertEquals("the core bundle stayed active the whole time", List.of(), coreEvents);
        assertEquals(Bundle.ACTIVE, core.getState());
        Map<String, Long> bundleIdsAfter = servicefarmBundleIds();
        bundleIdsAfter.remove("org.servicefarm.placement-cheapest");
        assertEquals("no bundle was reinstalled", bundleIdsBefore, bundleIdsAfter);
        assertEquals("the service manager was not restarted", managerIdBefore, managerServiceId());
    }

    /**
     * The shell's commands for what REST does, over a Karaf session: a host added, shown and removed (too dear to
     * attract a VM in between), bad input refused with one line and nothing changed, the status, and the keep-alive
     * decisions the lifecycle's sweeps (every 15 s) counted, read through farm:metrics and /metrics.
     */
    @Test
    public void d1_theShellAddsShowsAndRemovesAHostAndReadsTheStatusAndTheKeepAliveMetric() throws Exception {
        String nodeFile = Path.of(System.getProperty("karaf.etc"), "servicefarm", "hosts", "alpha.xml").toString();
        int hostsBefore = serviceManager.hosts().size();
        String refused = refusedAsAdmin("farm:host-add --driver libvirt --uri test://" + nodeFile
                + " --vcpus 0 --memory-mib 512 --vms 1 zeta");
        assertEquals("Invalid option --vcpus: capacity.vcpus must be from 1 to 4096, not 0", refused);
        assertTrue(refusedAsAdmin("farm:host-add --driver nosuch --uri test://" + nodeFile
                + " --vcpus 1 --memory-mib 512 --vms 1 zeta").startsWith("Invalid option --driver: "));
        assertEquals("nothing was added", hostsBefore, serviceManager.hosts().size());

        String added = executeAsAdmin("farm:host-add --driver libvirt --uri test://" + nodeFile + " --vcpus 1"
                + " --memory-mib 512 --vms 1 --cost-per-hour 100 --property portRange=23200-23299 zeta");
        assertTrue(added, added.startsWith("ADDED zeta"));
        assertTrue(executeAsAdmin("farm:host zeta").contains("cost/h      100.00"));
        assertTrue(FarmClient.json(client.get("/api/v1/hosts/zeta", Login.VIEWER)).path("costPerHour").asDouble() > 99);
        assertEquals("Invalid argument HOST: no host named nosuch", refusedAsAdmin("farm:host-remove nosuch"));
        assertEquals("zeta removed", executeAsAdmin("farm:host-remove zeta").strip());
        await("zeta to be gone", () -> serviceManager.hosts().stream().noneMatch(h -> h.name().equals("zeta")));

        assertTrue(completedAsAdmin("farm:request --os ").contains("debian-12"));
        List<String> hosts = completedAsAdmin("farm:migrate sf-any ");
        assertTrue("the VM before HOST passes Karaf's check, then HOST completes: " + hosts, hosts.contains("alpha")
                && hosts.contains("beta"));
        executeAsAdmin("farm:events --for 1"); // registers its listener, follows for a second, unregisters it
        String status = executeAsAdmin("farm:status");
        assertTrue(status, status.contains("hosts       " + hostsBefore));
        assertTrue(status, status.contains("front ends  ") && status.contains("rest"));
        // the store the table keeps its rows in, as REST says it (the command once named the in-memory one)
        assertTrue(status, status.contains("store       " + FarmClient.json(client.get("/api/v1/status", Login.VIEWER))
                .path("store").asText()));
        assertTrue(status, status.contains("store       H2 "));

        Pattern decision = Pattern.compile("servicefarm_keepalive_decisions_total\\{decision=\"[A-Z_]+\","
                + "policy=\"fixed\"} [1-9]");
        Instant deadline = Instant.now().plusSeconds(60);
        String metric = executeAsAdmin("farm:metrics servicefarm_keepalive_decisions_total");
        while (!decision.matcher(metric).find()) {
            assertTrue("a sweep every 15 s counts the VMs at rest: " + metric, Instant.now().isBefore(deadline));
            FarmClient.pause(1000);
            metric = executeAsAdmin("farm:metrics servicefarm_keepalive_decisions_total");
        }
        assertTrue(metric, metric.startsWith("# HELP servicefarm_keepalive_decisions_total"));
        assertTrue(decision.matcher(client.get("/metrics", Login.VIEWER).body()).find());
    }

    /** Runs after the switch to cheapest: a host cheaper than every demo host attracts the next VM. */
    @Test
    public void d_hostsAreAddedAndRemovedAtRunTimeAndPersisted() throws Exception {
        String nodeFile = Path.of(System.getProperty("karaf.etc"), "servicefarm", "hosts", "alpha.xml").toString();
        String delta = "{\"name\":\"delta\",\"driver\":\"libvirt\",\"uri\":\"test://" + nodeFile + "\","
                + "\"capacity\":{\"vcpus\":2,\"memoryMiB\":2048,\"vms\":4},\"costPerHour\":0.001,"
                + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"23000-23099\"}}";
        int hostsBefore = FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts").size();

        assertEquals("a viewer may not add hosts", 403, client.post("/api/v1/hosts", delta, Login.VIEWER).statusCode());
        HttpResponse<String> hostile = client.post("/api/v1/hosts", delta.replace("\"delta\"", "\"<x>'&\""), Login.ADMIN);
        assertEquals(hostile.body(), 400, hostile.statusCode());

        HttpResponse<String> added = client.post("/api/v1/hosts", delta, Login.ADMIN);
        assertEquals(added.body(), 201, added.statusCode());
        assertTrue(added.body(), FarmClient.json(added).path("connected").asBoolean());
        assertEquals(409, client.post("/api/v1/hosts", delta, Login.ADMIN).statusCode());
        // Configuration Admin persists it: that is what brings it back after a restart
        org.osgi.service.cm.Configuration[] saved = configurationAdmin.listConfigurations(
                "(&(service.factoryPid=org.servicefarm.host)(name=delta))");
        assertEquals(1, saved == null ? 0 : saved.length);

        Grant onDelta = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(4)), GRANT);
        assertEquals("the cheapest strategy prefers the new host", "delta", onDelta.hostId());
        int port = onDelta.endpoint().path("port").asInt();
        assertTrue("delta's port range, a port something else on the machine holds skipped: " + port,
                port >= 23000 && port <= 23099);
        HttpResponse<String> busy = client.delete("/api/v1/hosts/delta", Login.ADMIN);
        assertEquals(busy.body(), 409, busy.statusCode());

        assertEquals(hostsBefore + 1, FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts").size());
        HttpResponse<String> epsilon = client.post("/api/v1/hosts", delta.replace("\"delta\"", "\"epsilon\"")
                .replace("23000-23099", "23100-23199"), Login.ADMIN);
        assertEquals(epsilon.body(), 201, epsilon.statusCode());
        assertEquals(204, client.delete("/api/v1/hosts/epsilon", Login.ADMIN).statusCode());
        await("epsilon to be gone", () -> FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts")
                .findValuesAsText("name").stream().noneMatch("epsilon"::equals));
        assertEquals(404, client.delete("/api/v1/hosts/epsilon", Login.ADMIN).statusCode());
    }

    /**
     * A creation whose host fails goes on to the next host placement chooses: zeta, cheaper than delta, hands out one
     * port, which something else on this machine holds, so its driver cannot define the VM; the client is granted the
     * VM on delta, the next cheapest (the cheapest strategy is in force), and zeta's VM is FAILED with why.
     */
    @Test
    public void da_aCreationWhoseHostFailsIsTriedOnTheNextHost() throws Exception {
        String nodeFile = Path.of(System.getProperty("karaf.etc"), "servicefarm", "hosts", "alpha.xml").toString();
        try (java.net.ServerSocket held = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            int port = held.getLocalPort();
            String zeta = "{\"name\":\"zeta\",\"driver\":\"libvirt\",\"uri\":\"test://" + nodeFile + "\","
                    + "\"capacity\":{\"vcpus\":2,\"memoryMiB\":2048,\"vms\":4},\"costPerHour\":0.0005,"
                    + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"" + port + "-" + port + "\"}}";
            HttpResponse<String> added = client.post("/api/v1/hosts", zeta, Login.ADMIN);
            assertEquals(added.body(), 201, added.statusCode());
            try {
                Grant granted = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(9)), GRANT);
                assertEquals("the next cheapest host", "delta", granted.hostId());
                JsonNode failed = FarmClient.json(client.get("/api/v1/vms?host=zeta&state=FAILED", Login.VIEWER))
                        .path("vms");
                assertEquals(failed.toString(), 1, failed.size());
                String why = failed.get(0).path("detail").asText();
                assertTrue(why, why.contains("has no free port left in " + port + "-" + port)
                        && why.endsWith("; another host is tried"));
                String took = FarmClient.json(client.get("/api/v1/vms/" + granted.vmId(), Login.VIEWER))
                        .path("detail").asText();
                assertTrue(took, took.contains("failed on zeta"));
            } finally {
                HttpResponse<String> removed = client.delete("/api/v1/hosts/zeta", Login.ADMIN);
                assertEquals(removed.body(), 204, removed.statusCode());
            }
        }
    }

    /**
     * Runs after the placement switch: with the VM cap at the number of VMs the farm holds, a new offering makes the
     * eviction-lru bundle's policy evict the least recently used VM, and the count stays at the cap.
     */
    @Test
    public void e_theVmCapEvictsTheLeastRecentlyUsedVmAndARequestRestoresIt() throws Exception {
        // the cap counts the VMs in their hosts' memory: once none is between two states, it is those not archived
        await("the earlier tests' VMs to be at rest", () -> liveVms().stream().allMatch(vm -> List.of("ACTIVE",
                "SLEEPING", "ARCHIVED").contains(vm.path("state").asText())));
        List<JsonNode> inMemoryBefore = liveVms().stream().filter(vm -> !"ARCHIVED".equals(vm.path("state").asText()))
                .toList();
        assertTrue("the earlier tests left VMs: " + inMemoryBefore, inMemoryBefore.size() >= 2);
        JsonNode leastRecentlyUsed = inMemoryBefore.stream().min(java.util.Comparator.comparing(ApplianceIT::lastUsed))
                .get();
        int cap = inMemoryBefore.size();
        setProperty("org.servicefarm.core", "vm.cap", cap);
        await("the core to apply the new VM cap", () -> coreConfigured("org.servicefarm.core", "vm.cap", cap));

        Grant grant = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(5)), GRANT);
        assertEndpoint(grant.endpoint());

        String id = leastRecentlyUsed.path("id").asText();
        HttpResponse<String> evicted = client.get("/api/v1/vms/" + id, Login.VIEWER);
        JsonNode victim = FarmClient.json(evicted);
        // evicted by archiving it (the default): kept compressed on disk, out of its host's memory and the cap
        assertEquals("before: " + summary(inMemoryBefore) + "; after: " + summary(liveVms()), "ARCHIVED",
                victim.path("state").asText());
        assertTrue(evicted.body(), victim.path("detail").asText().contains("evicted"));
        assertEquals(evicted.body(), "COMPRESSED", victim.path("archive").path("tier").asText());
        assertTrue(evicted.body(), victim.path("archive").path("bytes").asLong() > 0);
        List<JsonNode> inMemory = liveVms().stream().filter(vm -> !"ARCHIVED".equals(vm.path("state").asText()))
                .toList();
        assertEquals("the farm stays at its cap", cap, inMemory.size());

        // a request for it restores it from its compressed archive (evicting another)
        Grant back = client.requestUntilGranted(FarmClient.JSON.writeValueAsString(victim.path("offering")), GRANT);
        assertEquals(back.body().toString(), "RESTORED", back.body().path("activation").asText());
        assertEquals(id, back.vmId());
        assertEndpoint(back.endpoint());
    }

    /**
     * Runs last: the core restarts. Its rows are in the store (H2 in data/, bundles/store-jdbc), so the VM is still
     * known; reconcile finds its guest on a host whose libvirt outlives the core (test:///default lives as long as the
     * appliance's JVM) and keeps it (were the row lost, it would adopt the guest from what the farm recorded on it,
     * never destroy it), and the VM serves the next request.
     */
    @Test
    public void f_aCoreRestartAdoptsTheGuestsItFindsInsteadOfDestroyingThem() throws Exception {
        setProperty("org.servicefarm.core", "vm.cap", 24);
        await("the core to apply the VM cap", () -> coreConfigured("org.servicefarm.core", "vm.cap", 24));
        String zeta = "{\"name\":\"zeta\",\"driver\":\"libvirt\",\"uri\":\"test:///default\","
                + "\"capacity\":{\"vcpus\":2,\"memoryMiB\":2048,\"vms\":4},\"costPerHour\":0.0001,"
                + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"23200-23299\",\"bootTimeMs\":\"500\"}}";
        HttpResponse<String> added = client.post("/api/v1/hosts", zeta, Login.ADMIN);
        assertEquals(added.body(), 201, added.statusCode());
        String body = FarmClient.JSON.writeValueAsString(offering(6));
        Grant before = client.requestUntilGranted(body, GRANT);
        assertEquals("the cheapest strategy prefers the new host", "zeta", before.hostId());

        // a client asks all through the restart: "ask again" while the API is not whole, never a 404 (which reads as
        // "no such thing": a NEVER is one too) nor CXF's HTML page
        java.util.concurrent.atomic.AtomicBoolean asking = new java.util.concurrent.atomic.AtomicBoolean(true);
        Map<String, Integer> answers = new java.util.concurrent.ConcurrentSkipListMap<>();
        Thread asker = new Thread(() -> {
            while (asking.get()) {
                answers.merge(FarmClient.kindOf(client.post("/api/v1/requests", body, Login.OPERATOR)), 1, Integer::sum);
                FarmClient.pause(20);
            }
        }, "asking through the core's restart");
        asker.start();
        FarmClient.pause(300);
        Bundle core = bundle(CORE_BUNDLE);
        core.stop();
        core.start();

        String path = "/api/v1/vms/" + before.vmId();
        await("the guest to be adopted", () -> {
            HttpResponse<String> vm = client.get(path, Login.VIEWER);
            return vm.statusCode() == 200 && "ACTIVE".equals(FarmClient.json(vm).path("state").asText());
        });
        asking.set(false);
        asker.join();
        System.out.println("ApplianceIT: answers through the core's restart: " + answers);
        assertTrue(answers.toString(), answers.keySet().stream().allMatch(kind -> kind.equals("200 GRANTED")
                || kind.equals("503 RETRY_LATER") || kind.equals("503 starting, Retry-After 1")));
        assertTrue("the restart was seen: " + answers, answers.containsKey("503 starting, Retry-After 1"));
        JsonNode adopted = FarmClient.json(client.get(path, Login.VIEWER));
        assertEquals("zeta", adopted.path("host").asText());
        JsonNode status = FarmClient.json(client.get("/api/v1/status", Login.VIEWER));
        assertTrue(status.toString(), status.path("store").asText().startsWith("H2 "));
        Grant after = client.requestUntilGranted(body, GRANT);
        assertEquals("the adopted VM serves", before.vmId(), after.vmId());
        assertEquals("ACTIVE", after.activation());
        assertEquals(before.endpoint(), after.endpoint());
        HttpResponse<String> service = client.getService(after.endpoint());
        assertEquals(service.body(), 200, service.statusCode());
        assertTrue(service.body(), service.body().contains("vm " + before.vmId() + "\n"));
        // the dashboard's feed and the metrics were bound to the core's events while it started again: no cycle
        assertEquals(List.of(), farmErrorsLogged());
    }

    /**
     * A typo in a configuration takes nothing away, not even at the next start: the component (here the catalog, a
     * keep-alive policy, the health filter and the API's login) refuses it in one log line and serves on as before;
     * started again with the typo still in Config Admin, it runs on the configuration it accepted last; the status
     * says so until the typo is mended. Declarative Services alone left the catalog away at the next start, and with
     * it the manager and the whole API (503 for good, even once the rule was mended), the keep-alive policy away (VMs
     * never slept), and the health filter failing every placement at once.
     */
    @Test
    public void g_aTypoInAConfigurationTakesNothingAwayNotEvenAtTheNextStart() throws Exception {
        String catalog = "org.servicefarm.catalog";
        String health = "org.servicefarm.filter.health";
        String timers = "org.servicefarm.keepalive.fixed";
        String rest = "org.servicefarm.rest";
        String rules = executeAsAdmin("farm:rules");
        setProperty(catalog, "rule.typo", "server:iis-* needs os:windows-*");
        setProperty(health, "failureThreshold", "abc");
        setProperty(timers, "archive.tier", "GOLD");
        await("three configurations to be refused", () -> {
            Map<String, JsonNode> refused = refusedByPid();
            return refused != null && refused.size() == 3;
        });
        assertEquals("the catalog in force is the one before", rules, executeAsAdmin("farm:rules"));
        client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(7)), GRANT); // placed: health works

        // the login's refusal re-creates its filter and the API is published again meanwhile (503 "starting"):
        // refusals are read whenever it answers
        setProperty(rest, "loginCacheSize", 0);
        java.util.concurrent.atomic.AtomicReference<Map<String, JsonNode>> seen =
                new java.util.concurrent.atomic.AtomicReference<>();
        await("the login's configuration to be refused too", () -> {
            seen.set(refusedByPid());
            return seen.get() != null && seen.get().size() == 4;
        });
        Map<String, JsonNode> byPid = seen.get();
        assertEquals(List.of(catalog, health, timers, rest), List.copyOf(byPid.keySet()));
        assertEquals("rule typo needs 'requires' or 'conflicts': server:iis-* needs os:windows-*",
                byPid.get(catalog).path("reason").asText());
        assertEquals("the settings before it stay in force", byPid.get(catalog).path("inForce").asText());
        assertEquals("failureThreshold: 'abc' is not a whole number", byPid.get(health).path("reason").asText());
        assertEquals("archive.tier must be SAVED, COMPRESSED or DELTA, not 'GOLD'",
                byPid.get(timers).path("reason").asText());
        assertEquals("the API's login runs on as before", "login cache needs ttl >= 0 and size >= 1",
                byPid.get(rest).path("reason").asText());

        for (String name : List.of("org.servicefarm.keepalive-fixed", CORE_BUNDLE)) {
            Bundle restarted = bundle(name);
            restarted.stop();
            restarted.start();
        }
        await("the API back, the restarted components on what they accepted last", () -> {
            Map<String, JsonNode> again = refusedByPid();
            return again != null && again.size() == 4 && List.of(catalog, health, timers).stream().allMatch(pid ->
                    again.get(pid).path("inForce").asText().startsWith("the configuration accepted last ("));
        });
        assertEquals(rules, executeAsAdmin("farm:rules"));
        String keepAlive = executeAsAdmin("farm:keepalive");
        assertTrue(keepAlive, keepAlive.startsWith("Keep-alive policy in force: fixed"));
        String status = executeAsAdmin("farm:status");
        assertTrue(status, status.contains("refused     " + catalog + " since "));
        client.requestUntilGranted(FarmClient.JSON.writeValueAsString(offering(8)), GRANT);

        removeProperty(catalog, "rule.typo");
        setProperty(health, "failureThreshold", "3");
        setProperty(timers, "archive.tier", "SAVED");
        removeProperty(rest, "loginCacheSize");
        await("the refusals to be withdrawn", () -> {
            Map<String, JsonNode> left = refusedByPid();
            return left != null && left.isEmpty();
        });
        assertFalse(executeAsAdmin("farm:status").contains("refused"));
    }

    /**
     * A plug-in's target that matches nothing (a typo in the keep-alive policy's name, in the VM eviction policy's)
     * leaves Declarative Services without a service to bind, and the appliance without the plug-in: no VM would ever
     * sleep, none be evicted at the cap. The status lists each as refused, with what is installed and what runs
     * instead, once it has matched nothing for the grace; mended, the refusals are withdrawn.
     */
    @Test
    public void ga_aPluginTargetThatMatchesNothingIsListedAsRefusedUntilMended() throws Exception {
        String lifecycle = "org.servicefarm.lifecycle";
        String eviction = "org.servicefarm.eviction";
        setProperty(lifecycle, "policy.target", "(keepalive.name=fixd)");
        setProperty(eviction, "vmPolicy.target", "(eviction.name=lur)");
        java.util.concurrent.atomic.AtomicReference<Map<String, JsonNode>> seen =
                new java.util.concurrent.atomic.AtomicReference<>();
        await("both targets to be refused", () -> {
            seen.set(refusedByPid());
            return seen.get() != null && seen.get().keySet().containsAll(List.of(lifecycle, eviction));
        });
        JsonNode keepAlive = seen.get().get(lifecycle);
        String reason = keepAlive.path("reason").asText();
        assertTrue(reason, reason.startsWith("policy.target (keepalive.name=fixd) matches none of the 3 "
                + "KeepAlivePolicy services installed (keepalive.name: adaptive, fixed, histogram)"));
        assertEquals("no keep-alive policy is in force: idle VMs are not put to sleep, archived or destroyed",
                keepAlive.path("inForce").asText());
        JsonNode vms = seen.get().get(eviction);
        assertTrue(vms.toString(), vms.path("reason").asText().startsWith("vmPolicy.target (eviction.name=lur) "
                + "matches none of the "));
        assertTrue(vms.toString(), vms.path("reason").asText().contains("eviction.name: gdsf, greedydual, lfu, lru)"));
        assertEquals("no VM is evicted at the VM cap: requests that need a new VM wait", vms.path("inForce").asText());
        String status = executeAsAdmin("farm:status");
        assertTrue(status, status.contains(lifecycle + " since ") && status.contains(": policy.target "));

        setProperty(lifecycle, "policy.target", "(keepalive.name=fixed)");
        setProperty(eviction, "vmPolicy.target", "(eviction.name=lru)");
        await("the refusals to be withdrawn", () -> {
            Map<String, JsonNode> left = refusedByPid();
            return left != null && left.isEmpty();
        });
        String policy = executeAsAdmin("farm:keepalive");
        assertTrue(policy, policy.startsWith("Keep-alive policy in force: fixed"));
    }

    /** The configurations refused, by pid, as {@code GET /api/v1/status} lists them; null while it does not answer. */
    private Map<String, JsonNode> refusedByPid() {
        HttpResponse<String> status = client.get("/api/v1/status", Login.VIEWER);
        if (status.statusCode() != 200) {
            return null;
        }
        Map<String, JsonNode> byPid = new java.util.LinkedHashMap<>();
        FarmClient.json(status).path("refused").forEach(r -> byPid.put(r.path("pid").asText(), r));
        return byPid;
    }

    private void removeProperty(String pid, String key) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        properties.remove(key);
        configuration.update(properties);
    }

    /**
     * The ERROR lines of the farm's bundles in the appliance's log so far: told by the line's bundle column, not by
     * the name anywhere in the line (Configuration Admin's event thread is named after the farm's pids, and Felix
     * fileinstall logs "Unable to save configuration" there when a host is deleted before it got the host's
     * creation event, as CI's loaded machine once showed for epsilon, added and deleted at once in d_).
     */
    private static List<String> farmErrorsLogged() throws java.io.IOException {
        Path log = Path.of(System.getProperty("karaf.log", System.getProperty("karaf.data") + "/log"), "karaf.log");
        return java.nio.file.Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                .filter(FARM_ERROR.asPredicate()).toList();
    }

    /** Karaf's layout: time | level | thread | logger | bundle id - symbolic name - version | message. */
    private static final java.util.regex.Pattern FARM_ERROR =
            java.util.regex.Pattern.compile("^\\S+ \\| ERROR \\| .*\\| \\d+ - org\\.servicefarm\\.[^ ]+ - ");

    private List<JsonNode> liveVms() {
        List<JsonNode> live = new ArrayList<>();
        for (JsonNode vm : FarmClient.json(client.get("/api/v1/vms", Login.VIEWER)).path("vms")) {
            if (!List.of("DESTROYED", "FAILED").contains(vm.path("state").asText())) {
                live.add(vm);
            }
        }
        return live;
    }

    /** Each VM's id, state, last use and detail: what a failed eviction test needs to tell why. */
    private static String summary(List<JsonNode> vms) {
        return vms.stream().map(vm -> vm.path("id").asText() + " " + vm.path("state").asText() + " used "
                + lastUsed(vm) + " (" + vm.path("detail").asText() + ")").toList().toString();
    }

    private static Instant lastUsed(JsonNode vm) {
        String when = vm.path("lastUsedAt").asText(null);
        return Instant.parse(when == null || when.isEmpty() || "null".equals(when) ? vm.path("createdAt").asText() : when);
    }

    // --- helpers --------------------------------------------------------------------------------

    /**
     * The n-th viable offering of the catalog at the standard security level (the demo hosts are
     * all in the standard zone), as a request body the API accepts as it is.
     */
    private ObjectNode offering(int n) {
        HttpResponse<String> response = client.get("/api/v1/catalog/offerings?limit=100", Login.VIEWER);
        assertEquals(response.body(), 200, response.statusCode());
        List<ObjectNode> standard = new ArrayList<>();
        for (JsonNode offering : FarmClient.json(response).path("offerings")) {
            if ("standard".equals(offering.path("securityLevel").asText())) {
                standard.add((ObjectNode) offering);
            }
        }
        assertTrue("the demo catalog has at least " + (n + 1) + " standard offerings: " + response.body(),
                standard.size() > n);
        return standard.get(n);
    }

    private static void assertEndpoint(JsonNode endpoint) {
        assertFalse("endpoint host: " + endpoint, endpoint.path("host").asText().isBlank());
        int port = endpoint.path("port").asInt();
        assertTrue("endpoint port: " + endpoint, port > 0 && port < 65536);
    }

    /** farm:request naming every field of the offering, so the shell asks for exactly it. */
    private static String farmRequestCommand(JsonNode offering) {
        StringBuilder command = new StringBuilder("farm:request");
        option(command, "--version", offering.path("version"));
        JsonNode environment = offering.path("environment");
        option(command, "--os", environment.path("os"));
        option(command, "--server", environment.path("server"));
        option(command, "--runtime", environment.path("runtime"));
        for (JsonNode patch : environment.path("patches")) {
            option(command, "--patch", patch);
        }
        option(command, "--security-level", offering.path("securityLevel"));
        return command.append(' ').append(offering.path("service").asText()).toString();
    }

    private static void option(StringBuilder command, String name, JsonNode value) {
        if (value.isTextual() && !value.asText().isEmpty()) {
            command.append(' ').append(name).append(' ').append(value.asText());
        }
    }

    /** Runs a shell command as the demo admin (as bin/client -u admin would) and returns its output. */
    private String executeAsAdmin(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Subject admin = new Subject();
        admin.getPrincipals().add(new UserPrincipal("admin"));
        for (String role : List.of("admin", "operator", "viewer", "manager", "systembundles", "ssh")) {
            admin.getPrincipals().add(new RolePrincipal(role));
        }
        Session session = sessionFactory.create(System.in, out, out);
        try {
            Object result = Subject.doAs(admin, (PrivilegedExceptionAction<Object>) () -> session.execute(command));
            if (result != null && !(result instanceof Integer)) { // an exit status: Karaf's console prints none
                out.println(result);
            }
        } finally {
            session.close();
        }
        out.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** What TAB offers at the end of {@code typed} in a Karaf session, through the command's own completer. */
    private List<String> completedAsAdmin(String typed) throws Exception {
        String[] words = typed.split(" ", -1);
        String name = words[0].substring(words[0].indexOf(':') + 1);
        Subject admin = new Subject();
        admin.getPrincipals().add(new UserPrincipal("admin"));
        admin.getPrincipals().add(new RolePrincipal("admin"));
        Session session = sessionFactory.create(System.in, System.out, System.err);
        try {
            return Subject.doAs(admin, (PrivilegedExceptionAction<List<String>>) () -> {
                org.apache.karaf.shell.api.console.Command command = session.getRegistry().getCommands().stream()
                        .filter(c -> c.getScope().equals("farm") && c.getName().equals(name)).findFirst()
                        .orElseThrow(() -> new AssertionError("no command " + words[0]));
                List<String> candidates = new java.util.ArrayList<>();
                command.getCompleter(true).complete(session, new org.apache.karaf.shell.support.parsing.CommandLineImpl(
                        words, words.length - 1, words[words.length - 1].length(), typed.length(), typed), candidates);
                return candidates.stream().map(String::strip).toList();
            });
        } finally {
            session.close();
        }
    }

    /** Runs a shell command that must fail, and returns what Karaf prints for it (one line). */
    private String refusedAsAdmin(String command) {
        String output;
        try {
            output = executeAsAdmin(command);
        } catch (Exception e) {
            // Subject.doAs wraps what the command threw
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof org.apache.karaf.shell.support.CommandException refusal) {
                    return refusal.getMessage();
                }
            }
            throw new AssertionError("refused by an exception that is not a CommandException: " + command, e);
        }
        throw new AssertionError("not refused: " + command + "\n" + output);
    }

    private void setPlacementTarget(String target) throws Exception {
        setProperty("org.servicefarm.placement", "placement.target", target);
    }

    private void setProperty(String pid, String key, Object value) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        properties.put(key, value);
        configuration.update(properties);
    }

    /** True once the core's component of {@code pid} runs with {@code key} = {@code value}. */
    private boolean coreConfigured(String pid, String key, Object value) {
        for (ComponentDescriptionDTO description : componentRuntime.getComponentDescriptionDTOs(bundle(CORE_BUNDLE))) {
            if (Arrays.asList(description.configurationPid).contains(pid)) {
                for (ComponentConfigurationDTO configuration : componentRuntime.getComponentConfigurationDTOs(description)) {
                    if (value.equals(configuration.properties.get(key))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** True once a component of the core has the strategy named cheapest bound to a reference. */
    private boolean cheapestBound() {
        Bundle core = bundle(CORE_BUNDLE);
        for (ComponentDescriptionDTO description : componentRuntime.getComponentDescriptionDTOs(core)) {
            for (ComponentConfigurationDTO configuration : componentRuntime.getComponentConfigurationDTOs(description)) {
                for (SatisfiedReferenceDTO reference : configuration.satisfiedReferences) {
                    boolean cheapest = Arrays.stream(reference.boundServices)
                            .anyMatch(service -> "cheapest".equals(service.properties.get(PlacementStrategy.NAME)));
                    if (cheapest) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Waits for a condition the appliance reaches asynchronously (DS reacting to configuration). */
    private static void await(String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plusSeconds(30);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            FarmClient.pause(50);
        }
    }

    private Map<String, Long> servicefarmBundleIds() {
        return Arrays.stream(bundleContext.getBundles())
                .filter(b -> b.getSymbolicName() != null && b.getSymbolicName().startsWith("org.servicefarm."))
                .collect(Collectors.toMap(Bundle::getSymbolicName, Bundle::getBundleId, (a, b) -> a, TreeMap::new));
    }

    private Object managerServiceId() {
        ServiceReference<ServiceManager> reference = bundleContext.getServiceReference(ServiceManager.class);
        assertNotNull("the ServiceManager service is registered", reference);
        return Objects.requireNonNull(reference.getProperty(Constants.SERVICE_ID));
    }

    private static String eventName(int type) {
        return switch (type) {
            case BundleEvent.STOPPING -> "STOPPING";
            case BundleEvent.STOPPED -> "STOPPED";
            case BundleEvent.UNRESOLVED -> "UNRESOLVED";
            case BundleEvent.UPDATED -> "UPDATED";
            case BundleEvent.UNINSTALLED -> "UNINSTALLED";
            case BundleEvent.RESOLVED -> "RESOLVED";
            case BundleEvent.STARTING -> "STARTING";
            case BundleEvent.STARTED -> "STARTED";
            default -> "EVENT-" + type;
        };
    }
}
