package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import javax.inject.Inject;

import org.apache.karaf.features.BootFinished;
import org.junit.Before;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Real guests on a real QEMU host: the appliance as it ships, given the component repository that components/build
 * made (target/components) and one QEMU host ({@code qemu:///system}) by configuration. The demo's test-driver hosts
 * are removed first, so every guest here runs for real; the last tests add a test-driver host back to show both kinds
 * serving at once. libvirtd must run on this machine (scripts/test starts it with scripts/qemu-host start): without
 * it the class fails, it never skips.
 * <p>
 * Each guest is a QEMU process booting the image's kernel under TCG; the farm grants it once its service answers.
 * Every guest this class made, and its staging pool, is removed at the end ({@link #z_removeWhatTheTestsMade}), and
 * at the start (what an aborted run left).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class RealGuestsIT {

    /** The farm's name for the QEMU host; the guests it holds carry it in their metadata. */
    static final String HOST = "qemu-it";
    /** A staging pool of the tests' own, removed with its volumes at the end. */
    static final String POOL = "servicefarm-it";
    static final String POOL_DIRECTORY = "/var/lib/libvirt/images/servicefarm-it";
    static final String URI = "qemu:///system";
    /** The name the several-services test connects the QEMU host under, through the driver itself. */
    static final String MULTI_HOST = "qemu-it-multi";
    private static final String COMPONENTS_PROPERTY = "servicefarm.it.components";
    private static final Duration READY = Duration.ofSeconds(90);
    /** A cold real guest: build, stage, boot under TCG, first answer; several may boot at once on two cores. */
    private static final Duration GRANT = Duration.ofSeconds(150);

    private static final String WIKI = "{\"service\":\"wiki\"}";
    private static final String BLOG = "{\"service\":\"blog\"}";
    private static final String NGINX = site("debian-12", "nginx-1.22", "");
    private static final String APACHE = site("debian-12", "httpd-2.4", "");
    private static final String APACHE_PATCHED = site("debian-12", "httpd-2.4", "httpd-cve-2024-38476");
    private static final String WINDOWS = "{\"service\":\"static-site\",\"environment\":{\"os\":\"windows-2022\"}}";

    /** Grants of the earlier tests, by request body: the restart test checks them again. */
    private static final Map<String, Grant> GRANTS = new LinkedHashMap<>();
    private static boolean prepared;

    @Inject
    BundleContext bundleContext;

    @Inject
    @Filter(timeout = 120_000)
    BootFinished bootFinished;

    @Inject
    @Filter(timeout = 60_000)
    ServiceManager serviceManager;

    /** The store in force: the images bundle, over the component repository. */
    @Inject
    ImageStore imageStore;

    @Inject
    @Filter("(hypervisor.driver.name=libvirt)")
    HypervisorDriver libvirt;

    private FarmClient client;

    @Configuration
    public Option[] config() {
        String components = new File(System.getProperty("servicefarm.components", "../target/components"))
                .getAbsoluteFile().toPath().normalize().toString();
        String hostFile = "etc/org.servicefarm.host-" + HOST + ".cfg";
        List<Option> options = new ArrayList<>(Arrays.asList(ApplianceOptions.boot()));
        options.addAll(List.of(
                editConfigurationFilePut("etc/org.servicefarm.images.cfg", "repository", components),
                editConfigurationFilePut(hostFile, "name", HOST),
                editConfigurationFilePut(hostFile, "driver", "libvirt"),
                editConfigurationFilePut(hostFile, "uri", URI),
                editConfigurationFilePut(hostFile, "capacity.vcpus", "8"),
                editConfigurationFilePut(hostFile, "capacity.memoryMiB", "4096"),
                editConfigurationFilePut(hostFile, "capacity.vms", "8"),
                editConfigurationFilePut(hostFile, "costPerHour", "0.05"),
                editConfigurationFilePut(hostFile, "securityZone", "standard"),
                editConfigurationFilePut(hostFile, "hypervisor.portRange", "24500-24599"),
                editConfigurationFilePut(hostFile, "hypervisor.stagingPool", POOL),
                editConfigurationFilePut(hostFile, "hypervisor.stagingDirectory", POOL_DIRECTORY),
                editConfigurationFilePut("etc/org.servicefarm.core.cfg", "staged.sweepSeconds", "2"), // 60 by default
                org.ops4j.pax.exam.CoreOptions.systemProperty(COMPONENTS_PROPERTY).value(components)));
        return options.toArray(Option[]::new);
    }

    @Before
    public void connect() throws Exception {
        client = new FarmClient(Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY)));
        if (prepared) {
            return;
        }
        String version = virsh(-1, "version");
        assertTrue("libvirtd must run on this machine for real guests (scripts/qemu-host start; scripts/test starts "
                + "it): virsh -c " + URI + " version said: " + version, version.contains("QEMU"));
        File index = new File(System.getProperty(COMPONENTS_PROPERTY), "index.json");
        assertTrue("the component repository is missing: run components/build (scripts/test does) to make "
                + index, index.isFile());
        removeGuestsOf(HOST); // what an aborted earlier run left
        removeGuestsOf(MULTI_HOST);
        client.awaitReady(READY);
        await("host " + HOST + " to connect", Duration.ofSeconds(60), () -> host(HOST).path("connected").asBoolean());
        // Only the QEMU host: every guest of these tests runs for real, and nothing could run a composition only.
        client.awaitHosts(READY, "alpha", "beta", "gamma"); // else one registered after its removal would stay
        for (String demo : List.of("alpha", "beta", "gamma")) {
            HttpResponse<String> removed = client.delete("/api/v1/hosts/" + demo, Login.ADMIN);
            assertEquals(removed.body(), 204, removed.statusCode());
        }
        await("the demo hosts to be gone", Duration.ofSeconds(30),
                () -> hosts().findValuesAsText("name").equals(List.of(HOST)));
        prepared = true;
    }

    /** The README's first request, on a QEMU host: built from components, booted, and served from inside the guest. */
    @Test
    public void a_theWikiIsBuiltBootedAndServedByPhpInsideTheGuest() throws Exception {
        HttpResponse<String> first = client.post("/api/v1/requests", WIKI, Login.ADMIN);
        assertEquals("a cold combination is deferred while its image is built and its guest boots: " + first.body(),
                503, first.statusCode());
        assertEquals("RETRY_LATER", FarmClient.json(first).path("outcome").asText());
        // the README's other first-session request (farm:request blog): boots beside the wiki, checked next
        int blog = client.post("/api/v1/requests", BLOG, Login.ADMIN).statusCode();
        assertTrue("deferred or granted: " + blog, blog == 503 || blog == 200);

        Grant grant = grant(WIKI);
        assertEquals(HOST, grant.hostId());
        assertEquals("wiki", grant.body().path("offering").path("service").asText());
        HttpResponse<String> page = client.getService(grant.endpoint());
        assertEquals(page.body(), 200, page.statusCode());
        // computed by PHP in the guest: the Debian kernel, PHP 8.2 behind nginx, a sum no file holds
        assertTrue(page.body(), page.body().startsWith("wiki 2.1\n"));
        assertTrue(page.body(), page.body().contains("sum of squares 1..100 = 338350\n"));
        assertTrue(page.body(), page.body().matches("(?s).*php 8\\.2\\.[0-9]+ \\(fpm-fcgi\\) on Linux [0-9.]+-[0-9]+-amd64\n.*"));
        assertTrue(page.headers().firstValue("Server").orElse(""), page.headers().firstValue("Server").orElse("")
                .startsWith("nginx/"));

        JsonNode vm = FarmClient.json(client.get("/api/v1/vms/" + grant.vmId(), Login.VIEWER));
        assertEquals("ACTIVE", vm.path("state").asText());
        assertTrue(vm.toString(), vm.path("detail").asText().matches("created in [0-9]+ ms: image [0-9]+ ms, place [0-9]+ ms, stage "
                + "[0-9]+ ms, define [0-9]+ ms, start [0-9]+ ms, boot to first answer [0-9]+ ms"));
        assertTrue("at least the memory its components ask for: " + vm, vm.path("resources").path("memoryMiB").asInt() >= 128);
        JsonNode image = FarmClient.json(client.get("/api/v1/images/" + vm.path("image").asText(), Login.VIEWER));
        assertFalse("a real image: " + image, image.path("compositionOnly").asBoolean());
        assertEquals(running(grant.vmId()), "running");
    }

    /** The blog: a WSGI application that Python runs inside the guest, behind nginx. */
    @Test
    public void a1_theBlogIsServedByPythonInsideItsGuest() throws Exception {
        Grant grant = grant(BLOG);
        assertEquals(HOST, grant.hostId());
        HttpResponse<String> page = client.getService(grant.endpoint());
        assertEquals(page.body(), 200, page.statusCode());
        assertTrue(page.body(), page.body().startsWith("blog 5.4\npython 3.11."));
        assertTrue(page.body(), page.body().contains("posts: 2 (Hello from a guest; Components all the way down)"));
    }

    /**
     * A volume of the staging pool no image of the store needs (staged for an image evicted before a restart, say)
     * leaves the pool within two sweeps; the volumes of the images the store keeps, which the running guests boot
     * from, and a volume not named by a sha256 stay.
     */
    @Test
    public void b_aVolumeNoImageOfTheStoreNeedsLeavesTheStagingPool() throws Exception {
        List<String> before = volumes(POOL);
        assertTrue("the wiki's kernel, initrd and disk: " + before, before.size() >= 3);
        String evicted = "0".repeat(64);
        virsh(-1, "vol-delete", "--pool", POOL, "an-operators-volume"); // an aborted run's
        virsh(0, "vol-create-as", POOL, evicted, "1M", "--format", "raw");
        virsh(0, "vol-create-as", POOL, "an-operators-volume", "1M", "--format", "raw");
        await("the volume no image needs to leave the pool", Duration.ofSeconds(30),
                () -> !volumes(POOL).contains(evicted));
        List<String> after = volumes(POOL);
        assertTrue(after.toString(), after.containsAll(before) && after.contains("an-operators-volume"));
        virsh(0, "vol-delete", "--pool", POOL, "an-operators-volume");
        Grant wiki = grant(WIKI);
        assertEquals(200, client.getService(wiki.endpoint()).statusCode());
    }

    /** The names of a staging pool's volumes. */
    static List<String> volumes(String pool) {
        try {
            return virsh(0, "vol-list", pool).lines().skip(2).map(line -> line.trim().split("\\s+")[0])
                    .filter(name -> !name.isEmpty()).toList();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Two requests differing only in the server: each answer names its server. Three guests boot at once here. */
    @Test
    public void b_twoServersNameThemselvesInTheirAnswers() throws Exception {
        for (String body : List.of(NGINX, APACHE, APACHE_PATCHED)) { // c_ needs the third: boot them together
            int status = client.post("/api/v1/requests", body, Login.ADMIN).statusCode();
            assertTrue("deferred or granted: " + status, status == 503 || status == 200);
        }
        HttpResponse<String> nginx = client.getService(grant(NGINX).endpoint());
        HttpResponse<String> apache = client.getService(grant(APACHE).endpoint());
        assertEquals(200, nginx.statusCode());
        assertEquals(200, apache.statusCode());
        assertEquals("the same application either way", nginx.body(), apache.body());
        assertTrue(nginx.body(), nginx.body().contains("<h1>static-site 1.0</h1>"));
        assertTrue(nginx.headers().map().toString(), nginx.headers().firstValue("Server").orElse("").startsWith("nginx/1.22"));
        assertTrue(apache.headers().map().toString(),
                apache.headers().firstValue("Server").orElse("").startsWith("Apache/2.4"));
        assertNotEquals(GRANTS.get(NGINX).vmId(), GRANTS.get(APACHE).vmId());
    }

    /** Two requests differing only in a patch: the unpatched and the patched content. */
    @Test
    public void c_aPatchShowsInTheContentOfItsGuestOnly() throws Exception {
        JsonNode unpatched = GRANTS.containsKey(APACHE) ? GRANTS.get(APACHE).endpoint() : grant(APACHE).endpoint();
        JsonNode patched = grant(APACHE_PATCHED).endpoint();
        HttpResponse<String> before = client.getService(unpatched, "/_farm/httpd.txt");
        HttpResponse<String> after = client.getService(patched, "/_farm/httpd.txt");
        assertEquals(200, before.statusCode());
        assertEquals(200, after.statusCode());
        assertTrue(before.body(), before.body().contains("CVE-2024-38476 hardening: not applied"));
        assertTrue(after.body(), after.body().contains("CVE-2024-38476 hardening: applied by ServiceFarm patch "
                + "httpd-cve-2024-38476"));
        assertFalse(client.getService(unpatched).headers().firstValue("X-SF-Patch").isPresent());
        assertEquals("httpd-cve-2024-38476", client.getService(patched).headers().firstValue("X-SF-Patch").orElse(""));
        assertTrue(client.getService(patched, "/_farm/components.txt").body().contains("patch/httpd-cve-2024-38476/"));
    }

    /** A combination without a real image is refused at once, saying why, and nothing is built or booted. */
    @Test
    public void d_aCombinationWithoutARealImageIsNeverAtOnce() throws Exception {
        int vmsBefore = FarmClient.json(client.get("/api/v1/vms", Login.VIEWER)).path("vms").size();
        for (Map.Entry<String, String> refused : Map.of(
                WINDOWS, "no real image: no operating system component 'windows-2022'",
                "{\"service\":\"static-site\",\"environment\":{\"os\":\"alpine-3.20\"}}",
                "no real image: no operating system component 'alpine-3.20'",
                "{\"service\":\"shop\"}", "no real image: ").entrySet()) {
            Instant asked = Instant.now();
            HttpResponse<String> never = client.post("/api/v1/requests", refused.getKey(), Login.ADMIN);
            Duration took = Duration.between(asked, Instant.now());
            assertEquals(never.body(), 404, never.statusCode());
            JsonNode body = FarmClient.json(never);
            assertEquals("NEVER", body.path("outcome").asText());
            assertTrue(never.body(), body.path("detail").asText().startsWith(refused.getValue()));
            assertTrue("at once: " + took, took.compareTo(Duration.ofSeconds(2)) < 0);
        }
        assertEquals("nothing was placed", vmsBefore,
                FarmClient.json(client.get("/api/v1/vms", Login.VIEWER)).path("vms").size());
    }

    /**
     * A guest killed while it boots (its QEMU process gets SIGKILL, as from the OOM killer or a crash): libvirt's
     * event ends its creation at once, without waiting out the readiness probe's limit (two minutes) on a guest that
     * will never answer; the client is answered, the dead guest is removed, and the next request boots a new one.
     */
    @Test
    public void d1_aGuestKilledWhileItBootsIsGivenUpAtOnceAndANewOneServes() throws Exception {
        String body = site("debian-12", "lighttpd-1.4", "");
        HttpResponse<String> first = client.post("/api/v1/requests", body, Login.ADMIN);
        assertEquals(first.body(), 503, first.statusCode());
        String[] booting = new String[1];
        await("its guest to boot", GRANT, () -> {
            for (JsonNode vm : FarmClient.json(client.get("/api/v1/vms", Login.VIEWER)).path("vms")) {
                if ("lighttpd-1.4".equals(vm.path("offering").path("environment").path("server").asText())
                        && "STARTING".equals(vm.path("state").asText())) {
                    booting[0] = vm.path("id").asText();
                    return true;
                }
            }
            return false;
        });
        String pid = java.nio.file.Files.readString(java.nio.file.Path.of("/run/libvirt/qemu/" + booting[0] + ".pid"))
                .trim();
        assertTrue("a QEMU pid: " + pid, pid.matches("[0-9]+"));
        signal("KILL", pid);
        Instant killed = Instant.now();

        await("the creation to fail", Duration.ofSeconds(20), () -> "FAILED".equals(vmState(booting[0]))
                || "DESTROYED".equals(vmState(booting[0])));
        Duration givenUp = Duration.between(killed, Instant.now());
        String detail = FarmClient.json(client.get("/api/v1/vms/" + booting[0], Login.VIEWER)).path("detail").asText();
        assertTrue(detail, detail.contains("its guest failed on host " + HOST + " before its services answered"));
        await("the dead guest to be removed", Duration.ofSeconds(30), () -> {
            try {
                return virsh(0, "list", "--all", "--name").lines().noneMatch(booting[0]::equals);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });

        Grant next = grant(body);
        Duration served = Duration.between(killed, Instant.now());
        assertNotEquals(booting[0], next.vmId());
        HttpResponse<String> page = client.getService(next.endpoint());
        assertEquals(page.body(), 200, page.statusCode());
        assertTrue(page.headers().map().toString(),
                page.headers().firstValue("Server").orElse("").startsWith("lighttpd/"));
        System.out.println("RealGuestsIT: a guest killed while it booted was given up " + givenUp.toMillis()
                + " ms after the kill; a new guest served " + served.toMillis() + " ms after it");
    }

    private String vmState(String vmId) {
        return FarmClient.json(client.get("/api/v1/vms/" + vmId, Login.VIEWER)).path("state").asText();
    }

    /**
     * The appliance stops and starts again, as far as one container allows: the bundles that hold the farm's state and
     * its libvirt connections (core: the service manager and its state table; driver-libvirt; images) are stopped and
     * started. The fresh manager reads its rows from the store (H2 in data/); reconcile finds the running guests
     * (a guest whose row were lost would be adopted from the metadata on it), and they are granted again and answer,
     * without having been restarted.
     */
    @Test
    public void e_afterARestartTheGuestsStillRunAreAdoptedAndAnswer() throws Exception {
        assertFalse("the earlier tests made guests", GRANTS.isEmpty());
        Map<String, String> domainIds = new LinkedHashMap<>();
        for (Grant grant : GRANTS.values()) {
            domainIds.put(grant.vmId(), virsh(0, "domid", grant.vmId()).trim());
        }
        Map<String, String> imageUse = realImagesUse();
        assertFalse("the earlier tests built real images", imageUse.isEmpty());
        List<Bundle> restarted = List.of(bundle("org.servicefarm.core"), bundle("org.servicefarm.driver-libvirt"),
                bundle("org.servicefarm.images"));
        for (Bundle bundle : restarted) {
            bundle.stop();
        }
        for (Grant grant : GRANTS.values()) {
            assertEquals("a guest outlives the appliance", "running", running(grant.vmId()));
        }
        for (int i = restarted.size() - 1; i >= 0; i--) {
            restarted.get(i).start();
        }
        await("every guest to be adopted", Duration.ofSeconds(60), () -> GRANTS.values().stream().allMatch(grant -> {
            try {
                HttpResponse<String> vm = client.get("/api/v1/vms/" + grant.vmId(), Login.VIEWER);
                return vm.statusCode() == 200 && "ACTIVE".equals(FarmClient.json(vm).path("state").asText());
            } catch (RuntimeException e) {
                return false; // the REST API is rebinding to the restarted core
            }
        }));
        // found on disk again, they take on their use from the image catalog in the store
        await("the images' use restored from the catalog", Duration.ofSeconds(10),
                () -> imageUse.equals(realImagesUse()));
        for (Map.Entry<String, Grant> before : GRANTS.entrySet()) {
            JsonNode vm = FarmClient.json(client.get("/api/v1/vms/" + before.getValue().vmId(), Login.VIEWER));
            assertEquals(vm.toString(), HOST, vm.path("host").asText()); // kept in the store, or adopted from the guest
            Grant after = client.requestUntilGranted(before.getKey(), GRANT);
            assertEquals("the adopted guest serves", before.getValue().vmId(), after.vmId());
            assertEquals("ACTIVE", after.activation());
            assertEquals(before.getValue().endpoint(), after.endpoint());
            HttpResponse<String> answer = client.getService(after.endpoint());
            assertEquals(answer.body(), 200, answer.statusCode());
            assertEquals("the same QEMU process: it was not restarted", domainIds.get(after.vmId()),
                    virsh(0, "domid", after.vmId()).trim());
        }
    }

    /**
     * libvirtd ends the appliance's connections, as a restart of the daemon does (here {@code virt-admin
     * client-disconnect}, so the daemon and the guests carry on): the host is connected again within seconds, its
     * guest is granted and answers without a restart, libvirt's events reach the table over the new connection (a
     * guest paused behind the farm's back is SLEEPING), and calls go through it (the next request resumes it).
     */
    @Test
    public void e1_aCutLibvirtConnectionIsMadeAgainAndItsGuestsServeOn() throws Exception {
        Grant before = GRANTS.get(WIKI);
        assertNotNull("the first test granted the wiki", before);
        String domainId = virsh(0, "domid", before.vmId()).trim();
        Set<String> cut = libvirtClientsOfThisAppliance();
        assertFalse("the appliance holds a connection to libvirtd", cut.isEmpty());
        for (String client : cut) {
            virtAdmin("client-disconnect", "libvirtd", client);
        }
        await("the host to connect again", Duration.ofSeconds(60), () -> {
            Set<String> now = libvirtClientsOfThisAppliance();
            return !now.isEmpty() && now.stream().noneMatch(cut::contains) && host(HOST).path("connected").asBoolean();
        });

        Grant after = client.requestUntilGranted(WIKI, GRANT);
        assertEquals(before.vmId(), after.vmId());
        assertEquals("ACTIVE", after.activation());
        HttpResponse<String> answer = client.getService(after.endpoint());
        assertEquals(answer.body(), 200, answer.statusCode());
        assertEquals("the same QEMU process", domainId, virsh(0, "domid", after.vmId()).trim());

        virsh(0, "suspend", after.vmId());
        await("the pause to reach the table as an event", Duration.ofSeconds(30), () -> "SLEEPING".equals(
                FarmClient.json(client.get("/api/v1/vms/" + after.vmId(), Login.VIEWER)).path("state").asText()));
        Grant resumed = client.requestUntilGranted(WIKI, GRANT);
        assertEquals(after.vmId(), resumed.vmId());
        assertEquals("RESUMED", resumed.activation());
        assertEquals("running", running(resumed.vmId()));
        assertEquals(200, client.getService(resumed.endpoint()).statusCode());
    }

    /** The ids libvirtd gives this JVM's connections (the tests run inside the appliance). */
    private static Set<String> libvirtClientsOfThisAppliance() {
        String pid = Long.toString(ProcessHandle.current().pid());
        Set<String> ours = new java.util.TreeSet<>();
        for (String line : virtAdmin("srv-clients-list", "libvirtd").lines().skip(2).toList()) {
            String id = line.trim().split("\\s+")[0];
            if (!id.isEmpty() && virtAdmin("client-info", "libvirtd", id).lines()
                    .anyMatch(info -> info.matches("unix_process_id\\s*:\\s*" + pid))) {
                ours.add(id);
            }
        }
        return ours;
    }

    /** Runs virt-admin (libvirt-clients) against the local libvirtd; fails the test unless it exits 0. */
    private static String virtAdmin(String... args) {
        List<String> command = new ArrayList<>(List.of("virt-admin"));
        command.addAll(List.of(args));
        try {
            return libvirtTool(0, command);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Each real image's id -> when it was made, last used, and how many VMs were made from it, as REST says. */
    private Map<String, String> realImagesUse() {
        Map<String, String> use = new java.util.TreeMap<>();
        try {
            for (JsonNode image : FarmClient.json(client.get("/api/v1/images", Login.VIEWER)).path("images")) {
                if (!image.path("compositionOnly").asBoolean(true)) {
                    use.put(image.path("id").asText(), image.path("createdAt").asText() + " "
                            + image.path("lastUsedAt").asText() + " " + image.path("uses").asLong());
                }
            }
        } catch (RuntimeException e) {
            return Map.of(); // the REST API is rebinding to the restarted image store
        }
        return use;
    }

    /**
     * libvirtd wedged (SIGSTOP: it holds its sockets and answers nothing, as a daemon stuck in a deadlock or a remote
     * host cut off without a reset): libvirt's keepalive ends the appliance's connection within seconds, so the host is
     * seen not connected instead of holding every call on it for ever; its running guest is still granted (its service
     * answers) and nothing of it is evicted or destroyed. Continued, the host is connected at the operator's word
     * ({@code POST /api/v1/hosts/{name}/connect}) and serves as before.
     */
    @Test
    public void e2_aWedgedLibvirtdIsSeenWithinSecondsAndItsGuestsServeOn() throws Exception {
        Grant before = GRANTS.get(WIKI);
        assertNotNull("the first test granted the wiki", before);
        String libvirtd = new String(new ProcessBuilder("pgrep", "-x", "libvirtd").start().getInputStream()
                .readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue("one libvirtd: " + libvirtd, libvirtd.matches("[0-9]+"));
        Instant stopped = Instant.now();
        signal("STOP", libvirtd);
        try {
            await("the wedged connection to be given up", Duration.ofSeconds(60),
                    () -> !host(HOST).path("connected").asBoolean());
            System.out.println("RealGuestsIT: libvirtd wedged, host seen not connected after "
                    + Duration.between(stopped, Instant.now()).toMillis() + " ms");
            Grant meanwhile = client.requestUntilGranted(WIKI, GRANT);
            assertEquals("its guest runs on and answers", before.vmId(), meanwhile.vmId());
            assertEquals(200, client.getService(meanwhile.endpoint()).statusCode());
        } finally {
            signal("CONT", libvirtd);
        }
        await("the host to be connected again at the operator's word", Duration.ofSeconds(90), () -> FarmClient.json(
                client.post("/api/v1/hosts/" + HOST + "/connect", "", Login.ADMIN)).path("connected").asBoolean());
        for (Grant grant : GRANTS.values()) {
            assertEquals("not evicted or destroyed meanwhile: " + grant.vmId(), "ACTIVE", FarmClient.json(
                    client.get("/api/v1/vms/" + grant.vmId(), Login.VIEWER)).path("state").asText());
        }
        assertEquals("running", running(before.vmId()));
    }

    private static void signal(String signal, String pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, pid).redirectErrorStream(true).start();
        assertEquals("kill -" + signal + " " + pid, 0, kill.waitFor());
    }

    /**
     * A test-driver host beside the QEMU host: a composition only runs there (simulated), a real image still boots on
     * the QEMU host. busybox httpd sends no Server header: its answer says so by the header's absence.
     */
    @Test
    public void f_bothKindsOfHostServeAtOnce() throws Exception {
        String tau = "{\"name\":\"tau\",\"driver\":\"libvirt\",\"uri\":\"test:///default\","
                + "\"capacity\":{\"vcpus\":4,\"memoryMiB\":4096,\"vms\":8},\"costPerHour\":0.001,"
                + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"23300-23399\",\"bootTimeMs\":\"200\"}}";
        HttpResponse<String> added = client.post("/api/v1/hosts", tau, Login.ADMIN);
        assertEquals(added.body(), 201, added.statusCode());

        Grant windows = grant(WINDOWS);
        assertEquals("a composition only runs on the host that simulates its guest", "tau", windows.hostId());
        assertEquals("servicefarm-simulated-guest",
                client.getService(windows.endpoint()).headers().firstValue("Server").orElse(""));

        Grant busybox = grant(site("busybox-1.35", "busybox-httpd-1.35", ""));
        assertEquals("a real image boots where guests are real, though tau is cheaper", HOST, busybox.hostId());
        HttpResponse<String> answer = client.getService(busybox.endpoint());
        assertEquals(200, answer.statusCode());
        assertTrue(answer.body(), answer.body().contains("<h1>static-site 1.0</h1>"));
        assertFalse("busybox httpd sends no Server header: " + answer.headers().map(),
                answer.headers().firstValue("Server").isPresent());
    }

    /**
     * Several services in one guest, on distinct ports, through the layers below the request path (which asks for
     * one service per VM): the image store composes the wiki and the static site into one image, the libvirt driver
     * defines one QEMU guest with a forward per service, and each answers on its own endpoint.
     */
    @Test
    public void g_severalServicesAnswerOnTheirOwnPortsInOneGuest() throws Exception {
        Offering wiki = ((Resolution.Viable) serviceManager.directory().resolve(ServiceRequest.of("wiki"))).offering();
        List<VmSpec.GuestService> services = List.of(new VmSpec.GuestService("wiki", 80),
                new VmSpec.GuestService("static-site", 8080));
        ImageRef image = imageStore.obtain(wiki, services);
        assertFalse(image.compositionOnly());
        HostRecord record = new HostRecord(MULTI_HOST, "libvirt", URI, new org.servicefarm.api.Capacity(2, 1024, 2),
                0, "standard", Map.of("portRange", "24600-24609", "stagingPool", POOL,
                "stagingDirectory", POOL_DIRECTORY));
        HostConnection host = libvirt.connect(record, event -> { });
        try {
            String vmId = "sf-it-multi-" + Long.toHexString(System.nanoTime() & 0xffffff);
            host.define(new VmSpec(vmId, wiki, host.stage(image), 1, 256, services, Instant.now()));
            Map<String, org.servicefarm.api.Endpoint> endpoints = host.start(vmId);
            assertEquals(services.size(), endpoints.size());
            assertNotEquals(endpoints.get("wiki").port(), endpoints.get("static-site").port());
            JsonNode wikiEndpoint = FarmClient.JSON.valueToTree(endpoints.get("wiki"));
            JsonNode siteEndpoint = FarmClient.JSON.valueToTree(endpoints.get("static-site"));
            await("both services to answer", Duration.ofSeconds(90), () -> answers(wikiEndpoint, "wiki 2.1\n")
                    && answers(siteEndpoint, "<h1>static-site 1.0</h1>"));
            assertTrue(client.getService(siteEndpoint, "/_farm/services.txt").body().contains("s2"));
            host.destroy(vmId);
        } finally {
            host.close();
        }
    }

    private boolean answers(JsonNode endpoint, String content) {
        try {
            HttpResponse<String> answer = client.getService(endpoint);
            return answer.statusCode() == 200 && answer.body().contains(content);
        } catch (RuntimeException e) {
            return false; // still booting
        }
    }

    /** Runs last, whatever failed before: every guest of the QEMU host and the tests' staging pool are removed. */
    @Test
    public void z_removeWhatTheTestsMade() throws Exception {
        removeGuestsOf(MULTI_HOST);
        int removed = removeGuestsOf(HOST);
        assertTrue("the tests made guests: " + removed, removed >= 1);
        assertTrue(virsh(0, "list", "--all", "--name").lines().noneMatch(GRANTS.values().stream()
                .map(Grant::vmId).toList()::contains));
        removePool(POOL);
    }

    // --- helpers --------------------------------------------------------------------------------

    private static String site(String os, String server, String patch) {
        return "{\"service\":\"static-site\",\"environment\":{\"os\":\"" + os + "\",\"server\":\"" + server + "\""
                + (patch.isEmpty() ? "" : ",\"patches\":[\"" + patch + "\"]") + "}}";
    }

    private Grant grant(String body) {
        Grant grant = client.requestUntilGranted(body, GRANT);
        GRANTS.putIfAbsent(body, grant);
        return grant;
    }

    private JsonNode hosts() {
        return FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts");
    }

    private JsonNode host(String name) {
        for (JsonNode host : hosts()) {
            if (name.equals(host.path("name").asText())) {
                return host;
            }
        }
        return FarmClient.JSON.createObjectNode();
    }

    /** The libvirt state of a domain ("running", "shut off", ...). */
    private static String running(String domain) throws Exception {
        return virsh(0, "domstate", domain).trim();
    }

    /** Destroys and undefines every domain whose farm metadata names {@code host}; returns how many. */
    static int removeGuestsOf(String host) throws Exception {
        int removed = 0;
        for (String domain : virsh(0, "list", "--all", "--name").lines().map(String::trim)
                .filter(name -> !name.isEmpty()).toList()) {
            String xml = virsh(-1, "dumpxml", domain);
            if (xml.contains("host=\"" + host + "\"") || xml.contains("host='" + host + "'")) {
                virsh(-1, "destroy", domain);
                virsh(-1, "undefine", domain);
                removed++;
            }
        }
        return removed;
    }

    /** Deletes a staging pool of the tests with its volumes. */
    static void removePool(String pool) throws Exception {
        // pool-info's error for a missing pool names it too: ask for the list of pools instead
        if (virsh(0, "pool-list", "--all", "--name").lines().map(String::trim).noneMatch(pool::equals)) {
            return;
        }
        for (String volume : volumes(pool)) {
            virsh(0, "vol-delete", "--pool", pool, volume);
        }
        virsh(-1, "pool-destroy", pool);
        virsh(0, "pool-delete", pool);
        virsh(0, "pool-undefine", pool);
    }

    /** Runs virsh on the QEMU host; {@code expectedExit} -1 accepts any exit status. Returns what it printed. */
    static String virsh(int expectedExit, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("virsh", "-c", URI));
        command.addAll(List.of(args));
        return libvirtTool(expectedExit, command);
    }

    /** Runs a libvirt command-line tool; {@code expectedExit} -1 accepts any exit status. Returns what it printed. */
    private static String libvirtTool(int expectedExit, List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish within 60 s");
        }
        if (expectedExit >= 0 && process.exitValue() != expectedExit) {
            fail(String.join(" ", command) + " exited " + process.exitValue() + ": " + output);
        }
        return output;
    }

    private Bundle bundle(String symbolicName) {
        return Arrays.stream(bundleContext.getBundles())
                .filter(b -> symbolicName.equals(b.getSymbolicName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no bundle " + symbolicName));
    }

    private static void await(String what, Duration timeout, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            FarmClient.pause(100);
        }
    }
}
