package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

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
 * guests and the table agree both ways: no row points at a missing guest, no guest is left without a row. The
 * keep-alive policy in force (the histogram policy here) is taught the farm's requests from before the crash: the
 * request granted again after it counts an idle time since the one before.
 */
public class CrashIT {
    static final String HOST = "crash-it";
    private static final Duration GRANT = Duration.ofSeconds(150);

    private static ApplianceProcess appliance;
    private static FarmClient client;

    @BeforeClass
    public static void unpack() throws Exception {
        appliance = new ApplianceProcess("crash-it");
        appliance.watchBoots();
        appliance.qemuHost(HOST, 8, "24700-24799", RealGuestsIT.POOL, RealGuestsIT.POOL_DIRECTORY);
        appliance.set("org.servicefarm.lifecycle.cfg", "policy.target", "(keepalive.name=histogram)");
        ApplianceProcess.removeGuests(HOST);
        client = appliance.client;
    }

    @AfterClass
    public static void cleanUp() throws Exception {
        try {
            appliance.kill();
        } finally {
            ApplianceProcess.removeGuests(HOST);
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
        JsonNode learned = null;
        for (JsonNode combination : FarmClient.json(client.get("/api/v1/keepalive", Login.VIEWER))
                .path("combinations")) {
            if (combination.at("/offering/environment/server").asText().equals("busybox-httpd-1.35")) {
                learned = combination;
            }
        }
        assertTrue("the histogram policy knows the combination granted again", learned != null);
        assertEquals("taught the request before the crash: one idle time from it to the one after " + learned, 1,
                learned.path("idleTimes").asLong());

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

        // started again while it runs: refused at once, naming the port it would not get
        String refused = appliance.serveAgain();
        assertTrue(refused, refused.contains("port " + appliance.httpPort + " (org.osgi.service.http.port")
                && refused.contains("is taken"));

        // stopped as scripts/run's appliance is by an operator: a TERM to its pid ends it, ports and all
        appliance.stop(Duration.ofSeconds(60));
        try (java.net.ServerSocket freed = new java.net.ServerSocket(appliance.httpPort)) {
            assertTrue(freed.isBound());
        }
    }

    private static String site(String os, String server) {
        return "{\"service\":\"static-site\",\"environment\":{\"os\":\"" + os + "\",\"server\":\"" + server + "\"}}";
    }

    /**
     * Starts the appliance and checks what clients were told while it started (one asking to explain a request, two
     * asking for the VMs every 10 ms): "ask again" (503, Retry-After) from the REST bundle's filter, or, for the
     * moment before the web server runs any filter, Jetty's own 404 (JSON without an outcome to a JSON client); never
     * CXF's "No service was found" nor a 404 problem, which read as "no such thing" (a NEVER is one too).
     */
    private static void start() throws Exception {
        appliance.start(site("busybox-1.35", "busybox-httpd-1.35"));
        Map<String, Integer> answers = appliance.startingAnswers();
        System.out.println("CrashIT: answers while the appliance started: " + answers);
        assertTrue(answers.toString(), answers.keySet().stream().allMatch(kind -> kind.equals(
                "503 starting, Retry-After 1") || kind.equals("404 ") // Jetty's {"message":"Not Found",...}
                || kind.startsWith("404 text/html;charset=iso-8859-1"))); // Jetty's page (CXF's is in UTF-8)
    }

    private static void kill() throws InterruptedException {
        appliance.kill();
    }

    private static List<JsonNode> vms() {
        return appliance.vms();
    }

    private static JsonNode vm(String id) throws Exception {
        return appliance.vm(id);
    }

    private static void awaitUnder(Duration timeout, String what, ApplianceProcess.Condition condition)
            throws Exception {
        appliance.awaitUnder(timeout, what, condition);
    }

    private static Set<String> guestsOf(String host) throws Exception {
        return ApplianceProcess.guestsOf(host);
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
}
