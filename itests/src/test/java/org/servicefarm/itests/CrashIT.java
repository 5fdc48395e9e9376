package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An appliance killed with SIGKILL while it creates real guests, and started again on the same folder: the shipped
 * zip run as a process of its own (Pax Exam's container cannot be killed and kept), with one QEMU host
 * ({@code qemu:///system}, whose guests outlive the appliance) beside the demo's test-driver hosts (whose guests live in
 * the appliance's own process and die with it), and a host added over REST.
 * <p>
 * After the restart: the host added over REST is there; the guest granted before the crash is still recorded ACTIVE,
 * answers, and is granted again; the VMs whose guests died with the process are recorded as gone, not left ACTIVE;
 * the creations the kill cut short are ended (rolled back or finished), none left half-way; and the QEMU host's
 * guests and the table agree both ways: no row points at a missing guest, no guest is left without a row.
 */
public class CrashIT {
    static final String HOST = "crash-it";
    private static final String URI = "qemu:///system";
    private static final Duration READY = Duration.ofSeconds(120);
    private static final Duration GRANT = Duration.ofSeconds(150);
    private static final Pattern FARM_HOST = Pattern.compile("<servicefarm:vm [^>]*host=[\"']([^\"']+)[\"']");

    private static Path home;
    private static int httpPort;
    private static Process karaf;
    private static FarmClient client;

    @BeforeClass
    public static void unpack() throws Exception {
        String zip = System.getProperty("servicefarm.assembly.zip");
        String components = System.getProperty("servicefarm.components");
        assertNotNull("servicefarm.assembly.zip is not set (run through mvn verify)", zip);
        assertTrue("the component repository is missing: run components/build (scripts/test does): " + components,
                components != null && Files.isDirectory(Path.of(components, "blobs")));
        Path base = Path.of("target", "crash-it").toAbsolutePath();
        run(Duration.ofSeconds(60), "rm", "-rf", base.toString());
        Files.createDirectories(base);
        run(Duration.ofSeconds(120), "unzip", "-q", zip, "-d", base.toString());
        try (var dirs = Files.list(base)) {
            home = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        httpPort = Integer.parseInt(ApplianceOptions.freePort());
        set("org.ops4j.pax.web.cfg", "org.osgi.service.http.port", String.valueOf(httpPort));
        set("org.apache.karaf.shell.cfg", "sshPort", ApplianceOptions.freePort());
        set("org.apache.karaf.management.cfg", "rmiRegistryPort", ApplianceOptions.freePort());
        set("org.apache.karaf.management.cfg", "rmiServerPort", ApplianceOptions.freePort());
        set("org.servicefarm.dns.cfg", "port", ApplianceOptions.freePort());
        set("org.servicefarm.images.cfg", "repository", components);
        Files.writeString(home.resolve("etc/org.servicefarm.host-" + HOST + ".cfg"), String.join("\n",
                "name = " + HOST, "driver = libvirt", "uri = " + URI, "capacity.vcpus = 8",
                "capacity.memoryMiB = 4096", "capacity.vms = 8", "costPerHour = 0.05", "securityZone = standard",
                "hypervisor.portRange = 24700-24799", "hypervisor.stagingPool = " + RealGuestsIT.POOL,
                "hypervisor.stagingDirectory = " + RealGuestsIT.POOL_DIRECTORY, ""));
        removeGuests();
        client = new FarmClient(httpPort);
    }

    @AfterClass
    public static void cleanUp() throws Exception {
        try {
            kill();
        } finally {
            removeGuests();
            RealGuestsIT.removePool(RealGuestsIT.POOL); // the staging pool is the real-guest tests', made again by this one
        }
    }

    @Test
    public void aKilledApplianceComesBackWithATableTrueToItsHosts() throws Exception {
        start();
        // a host added over REST: it must outlive the crash
        String added = "{\"name\":\"crash-added\",\"driver\":\"libvirt\",\"uri\":\"test:///default\","
                + "\"capacity\":{\"vcpus\":2,\"memoryMiB\":2048,\"vms\":4},\"costPerHour\":0.9,"
                + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"23400-23499\",\"bootTimeMs\":\"200\"}}";
        HttpResponse<String> hostAdded = client.post("/api/v1/hosts", added, Login.ADMIN);
        assertEquals(hostAdded.body(), 201, hostAdded.statusCode());

        // a real guest granted before the crash, and a simulated one (a composition only: a test-driver host)
        Grant real = client.requestUntilGranted(site("busybox-1.35", "busybox-httpd-1.35"), GRANT);
        assertEquals(HOST, real.hostId());
        assertEquals(200, client.getService(real.endpoint()).statusCode());
        Grant simulated = client.requestUntilGranted(site("alpine-3.20", "nginx-1.22"), GRANT);
        assertFalse(HOST.equals(simulated.hostId()));

        // a burst of cold real creations, answered RETRY_LATER at once, and the kill while they are under way
        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (String body : List.of(site("busybox-1.35", "lighttpd-1.4"), site("debian-12", "nginx-1.22"),
                site("debian-12", "httpd-2.4"))) {
            burst.add(CompletableFuture.supplyAsync(() -> client.post("/api/v1/requests",
                    body.substring(0, body.length() - 1) + ",\"deadlineMs\":300}", Login.ADMIN)));
        }
        for (CompletableFuture<HttpResponse<String>> answer : burst) {
            assertEquals(answer.get().body(), 503, answer.get().statusCode());
        }
        awaitUnder(Duration.ofSeconds(60), "a creation to reach its host", () -> vms() != null && vms().stream()
                .anyMatch(vm -> HOST.equals(vm.path("host").asText())
                        && vm.path("state").asText().matches("CREATING|STARTING")));
        kill();

        start();
        awaitUnder(Duration.ofSeconds(90), "every move the kill cut short to be ended", () -> {
            List<JsonNode> rows = vms();
            return rows != null && !rows.isEmpty() && rows.stream().noneMatch(vm -> vm.path("state").asText()
                    .matches("CREATING|STARTING|SUSPENDING|RESUMING|ARCHIVING|RESTORING|DESTROYING"));
        });

        JsonNode hosts = FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER));
        assertTrue(hosts.toString(), hosts.toString().contains("\"crash-added\""));

        JsonNode kept = vm(real.vmId());
        assertEquals(kept.toString(), "ACTIVE", kept.path("state").asText());
        assertEquals(real.endpoint(), kept.path("endpoint"));
        assertEquals("the guest outlived the appliance and answers", 200,
                client.getService(real.endpoint()).statusCode());
        Grant again = client.requestUntilGranted(site("busybox-1.35", "busybox-httpd-1.35"), GRANT);
        assertEquals(real.vmId(), again.vmId());
        assertEquals("ACTIVE", again.activation());

        awaitUnder(Duration.ofSeconds(60), "the simulated guest, gone with the process, to be recorded gone",
                () -> !vm(simulated.vmId()).path("state").asText().equals("ACTIVE"));
        assertEquals(vm(simulated.vmId()).toString(), "DESTROYED", vm(simulated.vmId()).path("state").asText());

        // the QEMU host and the table agree both ways (a rolled-back creation's guest is removed just after its row)
        awaitUnder(Duration.ofSeconds(60), "the guests of " + HOST + " and its live rows to agree",
                () -> guestsOf(HOST).equals(liveRows()));
        assertTrue(guestsOf(HOST).contains(real.vmId()));

        JsonNode audit = FarmClient.json(client.get("/api/v1/audit?limit=1000", Login.ADMIN));
        assertTrue("the repairs are in the audit trail", audit.toString().contains("recovered after a restart")
                || audit.toString().contains("reconciled"));
    }

    private static String site(String os, String server) {
        return "{\"service\":\"static-site\",\"environment\":{\"os\":\"" + os + "\",\"server\":\"" + server + "\"}}";
    }

    /**
     * Every row of the table, or null while the REST API is not answering for it: after a start the resources are
     * published again when the store's arrival restarts the table and the manager over it.
     */
    private static List<JsonNode> vms() {
        try {
            HttpResponse<String> response = client.get("/api/v1/vms", Login.VIEWER);
            if (response.statusCode() != 200) {
                return null;
            }
            JsonNode all = FarmClient.json(response);
            List<JsonNode> list = new ArrayList<>();
            (all.isArray() ? all : all.path("vms")).forEach(list::add);
            return list;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The VMs the table has on the QEMU host in a state that holds a guest there. */
    private static Set<String> liveRows() {
        Set<String> rows = new HashSet<>();
        List<JsonNode> all = vms();
        if (all == null) {
            return null;
        }
        for (JsonNode vm : all) {
            if (HOST.equals(vm.path("host").asText()) && vm.path("state").asText().matches("ACTIVE|SLEEPING")) {
                rows.add(vm.path("id").asText());
            }
        }
        return rows;
    }

    /** A VM's row, waiting while the REST API is not answering for rows yet. */
    private static JsonNode vm(String id) throws Exception {
        JsonNode[] found = new JsonNode[1];
        awaitUnder(Duration.ofSeconds(60), "VM " + id + " to be readable", () -> {
            HttpResponse<String> response = client.get("/api/v1/vms/" + id, Login.VIEWER);
            found[0] = response.statusCode() == 200 ? FarmClient.json(response) : null;
            return found[0] != null;
        });
        return found[0];
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void awaitUnder(Duration timeout, String what, Condition condition) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.holds()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what + ": " + vms());
            }
            FarmClient.pause(250);
        }
    }

    /** Starts the appliance on its folder (again after a kill) and waits for its REST API. */
    private static void start() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server")
                .directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("console.log").toFile()));
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        karaf = builder.start();
        client.awaitReady(READY);
        // the whiteboard publishes resources one by one: the request resource may come after the hosts'
        String explain = site("busybox-1.35", "busybox-httpd-1.35");
        awaitUnder(READY, "the request resource", () -> {
            try {
                return client.post("/api/v1/requests?explain=true", explain, Login.ADMIN).statusCode() == 200;
            } catch (UncheckedIOException e) {
                return false;
            }
        });
    }

    /** SIGKILL to the appliance's JVM and the script that started it: no shutdown hook runs, nothing is flushed. */
    private static void kill() throws InterruptedException {
        if (karaf == null) {
            return;
        }
        karaf.descendants().forEach(ProcessHandle::destroyForcibly);
        karaf.destroyForcibly();
        karaf.waitFor(30, TimeUnit.SECONDS);
        karaf.descendants().forEach(p -> p.onExit().join());
        karaf = null;
    }

    /** The domains on this machine's libvirt whose farm metadata names {@code host}. */
    private static Set<String> guestsOf(String host) throws Exception {
        Set<String> guests = new HashSet<>();
        for (String domain : RealGuestsIT.virsh(0, "list", "--all", "--name").split("\n")) {
            if (domain.isBlank()) {
                continue;
            }
            Matcher m = FARM_HOST.matcher(RealGuestsIT.virsh(-1, "dumpxml", domain.strip()));
            if (m.find() && m.group(1).equals(host)) {
                guests.add(domain.strip());
            }
        }
        return guests;
    }

    private static void removeGuests() throws Exception {
        run(Duration.ofSeconds(120), "../scripts/qemu-host", "remove-guests", HOST);
    }

    private static void set(String file, String key, String value) throws IOException {
        Path path = home.resolve("etc").resolve(file);
        List<String> lines = Files.exists(path) ? new ArrayList<>(Files.readAllLines(path)) : new ArrayList<>();
        lines.removeIf(line -> line.strip().startsWith(key + " ") || line.strip().startsWith(key + "="));
        lines.add(key + " = " + value);
        Files.write(path, lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static String run(Duration timeout, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new UncheckedIOException(new IOException("timed out: " + String.join(" ", command)));
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
