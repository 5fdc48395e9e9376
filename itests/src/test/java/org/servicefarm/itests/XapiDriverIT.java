package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;
import org.servicefarm.driver.xapi.simulator.XapiSimulator;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The xapi driver in the assembled appliance, beside libvirt: installed at run time, a pool joins the farm over REST
 * and runs a real image's VMs through their whole life, the driver is removed and installed again while the
 * libvirt hosts go on serving, and the pool's xapi restarts. The pool is the XAPI simulator on loopback (this JVM),
 * spoken to over the wire.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class XapiDriverIT {

    private static final Duration GRANT = Duration.ofSeconds(180);
    private static final String WIKI = "{\"service\":\"wiki\"}";
    private static final String WINDOWS = "{\"service\":\"static-site\",\"environment\":{\"os\":\"windows-2022\"}}";
    private static final String PASSWORD = "xapi-it-secret";

    private static XapiSimulator pool;
    private static ApplianceProcess appliance;
    private static FarmClient client;
    private static String vmId;

    @BeforeClass
    public static void anApplianceAndAPool() throws Exception {
        Path data = Path.of("target", "xapi-it-pool").toAbsolutePath();
        ApplianceProcess.run(Duration.ofSeconds(60), "rm", "-rf", data.toString());
        // over TLS, the pool's self-signed certificate named in the driver's settings, as for a real pool
        pool = XapiSimulator.startTls(data, "root", PASSWORD, "xen-a", "xen-b");
        appliance = new ApplianceProcess("xapi-it");
        appliance.set("org.servicefarm.driver.xapi.cfg", "pools", pool.url());
        appliance.set("org.servicefarm.driver.xapi.cfg", "certificates", pool.certificate().toString());
        appliance.set("org.servicefarm.driver.xapi.cfg", ".password", PASSWORD);
        appliance.set("org.servicefarm.core.cfg", "staged.sweepSeconds", "2"); // a minute by default
        appliance.start(WIKI);
        client = appliance.client;
    }

    @AfterClass
    public static void stop() throws Exception {
        try {
            if (appliance != null) {
                appliance.stop(Duration.ofSeconds(60));
            }
        } finally {
            if (pool != null) {
                pool.close();
            }
        }
    }

    private static String xen1(String uri) {
        return "{\"name\":\"xen1\",\"driver\":\"xapi\",\"uri\":\"" + uri + "\",\"capacity\":{\"vcpus\":64,"
                + "\"memoryMiB\":262144,\"vms\":50},\"costPerHour\":0.04,\"securityZone\":\"standard\","
                + "\"properties\":{\"addressTimeoutSeconds\":\"30\"}}";
    }

    private static JsonNode host(String name) {
        HttpResponse<String> answer = client.get("/api/v1/hosts/" + name, Login.VIEWER);
        assertEquals(answer.body(), 200, answer.statusCode());
        return FarmClient.json(answer);
    }

    @Test
    public void a_theDriverInstalledAtRunTimeTakesAPoolAsAHost() throws Exception {
        HttpResponse<String> early = client.post("/api/v1/hosts", xen1(pool.url()), Login.ADMIN);
        assertEquals(early.body(), 400, early.statusCode());
        assertTrue(early.body(), early.body().contains("'xapi' is not installed"));

        appliance.shell("feature:install servicefarm-driver-xapi");
        FarmClient.await("the xapi driver", Duration.ofSeconds(60), () -> !client.post("/api/v1/hosts",
                xen1("http://127.0.0.1:1"), Login.ADMIN).body().contains("is not installed"));

        // the pool's credentials go only to the pools the operator listed, and never unencrypted off the machine
        for (String uri : new String[] {"http://10.0.0.1", "https://elsewhere.example.com", "http://127.0.0.1:1"}) {
            HttpResponse<String> refused = client.post("/api/v1/hosts", xen1(uri), Login.ADMIN);
            assertEquals(refused.body(), 400, refused.statusCode());
            assertEquals(refused.body(), "uri", FarmClient.json(refused).path("field").asText());
        }
        assertEquals("nothing was added", 404, client.get("/api/v1/hosts/xen1", Login.VIEWER).statusCode());

        HttpResponse<String> added = client.post("/api/v1/hosts", xen1(pool.url()), Login.ADMIN);
        assertEquals(added.body(), 201, added.statusCode());
        FarmClient.await("xen1 to connect", Duration.ofSeconds(30), () -> host("xen1").path("connected").asBoolean());
        assertEquals(4, FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts").size());
    }

    @Test
    public void b_aRealImageLivesItsLifeOnThePool() throws Exception {
        Grant created = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("a real image goes to the host whose guests are real", "xen1", created.hostId());
        vmId = created.vmId();
        assertTrue(created.endpoint().toString(), created.endpoint().path("host").asText().startsWith("127.77."));
        HttpResponse<String> answer = client.getService(created.endpoint());
        assertEquals(200, answer.statusCode());
        assertEquals("xapi-simulated-guest", answer.headers().firstValue("Server").orElse(""));
        Map<String, Object> vm = pool.vm(vmId).orElseThrow();
        assertEquals("Running", vm.get("power_state"));
        assertEquals("pygrub", vm.get("PV_bootloader"));

        HttpResponse<String> slept = client.post("/api/v1/vms/" + vmId + "/sleep", "", Login.OPERATOR);
        assertEquals(slept.body(), 200, slept.statusCode());
        assertEquals("Paused", pool.vm(vmId).orElseThrow().get("power_state"));
        Grant resumed = client.requestUntilGranted(WIKI, GRANT);
        assertEquals(vmId, resumed.vmId());
        assertEquals("RESUMED", resumed.activation());

        HttpResponse<String> archived = client.post("/api/v1/vms/" + vmId + "/archive?tier=SAVED", "",
                Login.OPERATOR);
        assertEquals(archived.body(), 200, archived.statusCode());
        assertEquals("Suspended", pool.vm(vmId).orElseThrow().get("power_state"));
        assertTrue("what XAPI's suspend image takes: " + archived.body(),
                FarmClient.json(archived).path("archive").path("bytes").asLong() > 0);
        HttpResponse<String> compressed = client.post("/api/v1/vms/" + vmId + "/archive?tier=COMPRESSED", "",
                Login.OPERATOR);
        assertEquals("a pool keeps saved state as XAPI suspends it: " + compressed.body(), 409,
                compressed.statusCode());
        Grant restored = client.requestUntilGranted(WIKI, GRANT);
        assertEquals(vmId, restored.vmId());
        assertEquals("RESTORED", restored.activation());
        assertEquals(200, client.getService(restored.endpoint()).statusCode());
    }

    /**
     * A disk staged for an image the store no longer has (evicted, say, before the appliance restarted) leaves the
     * pool within two sweeps; the disks of the image the store keeps, the VM's own, and a disk the farm did not
     * stage stay.
     */
    @Test
    public void b_whatNoImageOfTheStoreNeedsLeavesThePool() throws Exception {
        Set<String> before = pool.vdiUuids();
        String evicted = pool.addVdi("servicefarm 000000000000", Map.of("servicefarm.content", "0".repeat(64),
                "servicefarm.complete", "true"), 1 << 20);
        String operators = pool.addVdi("an operator's disk", Map.of(), 1 << 20);
        FarmClient.await("the evicted image's disk to leave the pool", Duration.ofSeconds(30),
                () -> !pool.vdiUuids().contains(evicted));
        Set<String> after = pool.vdiUuids();
        assertTrue(after.toString(), after.containsAll(before) && after.contains(operators));
        String metrics = client.get("/metrics", Login.VIEWER).body();
        assertTrue(metrics, metrics.contains("servicefarm_staged_unstaged_bytes_total{host=\"xen1\"} 1048576.0"));
        Grant served = client.requestUntilGranted(WIKI, GRANT);
        assertEquals(vmId, served.vmId());
        assertEquals(200, client.getService(served.endpoint()).statusCode());
    }

    @Test
    public void c_whatThePoolDoesToAGuestIsSeen() throws Exception {
        pool.powerOff(vmId);
        FarmClient.await("the halted guest to leave service", Duration.ofSeconds(30), () -> {
            HttpResponse<String> row = client.get("/api/v1/vms/" + vmId, Login.VIEWER);
            return row.statusCode() == 404 || !"ACTIVE".equals(FarmClient.json(row).path("state").asText());
        });
    }

    /**
     * A pool whose storage fills to staged.spaceHighPercent (85%) sheds what the farm staged there for images no VM of
     * it runs from (the wiki's, once its VM is gone), though the image store keeps the image: its largest disk first,
     * and no more than brings the pool to the low mark (80%). The wiki is staged again when it is next wanted.
     */
    @Test
    public void ca_aPoolWhoseStorageFillsShedsWhatNoVmOfItRunsFrom() throws Exception {
        client.delete("/api/v1/vms/" + vmId, Login.OPERATOR); // halted outside the farm in c_: gone for good now
        Map<String, String> staged = stagedContent();
        assertEquals("the wiki's boot disk and disk are staged on the pool: " + staged, 2, staged.size());
        String largest = pool.vdis().stream().filter(vdi -> staged.containsKey((String) vdi.get("uuid")))
                .max(java.util.Comparator.comparingLong(vdi -> ((Number) vdi.get("physical_utilisation"))
                        .longValue())).orElseThrow().get("uuid").toString();
        long used = ((Number) pool.storage().get("physical_utilisation")).longValue();
        pool.resizeStorage(used * 100 / 90); // 90% used: a ninth of it above the low mark, less than the disk
        try {
            FarmClient.await("the wiki's largest staged disk to leave the pool", Duration.ofSeconds(30),
                    () -> !stagedContent().containsKey(largest));
            Set<String> rest = new java.util.TreeSet<>(staged.keySet());
            rest.remove(largest);
            FarmClient.pause(5000); // two more sweeps
            assertEquals("no more than the low mark needs", rest, stagedContent().keySet());
            String metrics = client.get("/metrics", Login.VIEWER).body();
            Matcher capacity = Pattern.compile(
                    "(?m)^servicefarm_host_staging_capacity_bytes\\{host=\"xen1\"} (\\S+)$").matcher(metrics);
            assertTrue(metrics, capacity.find());
            assertEquals("the gauge says the pool's size", used * 100 / 90,
                    (long) Double.parseDouble(capacity.group(1)));

            // an operator's disk fills the pool to 97%: what the farm could shed (the boot disk) would not bring it
            // under 95%, so placement keeps new VMs off it until it has room again
            pool.resizeStorage(4L << 30);
            long usedNow = ((Number) pool.storage().get("physical_utilisation")).longValue();
            pool.addVdi("an operator's backup", Map.of(), (4L << 30) / 100 * 97 - usedNow);
            FarmClient.await("xen1's staging space read as full", Duration.ofSeconds(30),
                    () -> host("xen1").path("staging").path("usedPercent").asDouble() >= 95);
            JsonNode explained = FarmClient.json(client.post("/api/v1/requests?explain=true", WIKI, Login.OPERATOR));
            String removed = explained.path("placement").path("removed").toString();
            assertTrue(removed, removed.contains("\"filter\":\"space\"") && removed.contains(
                    "xen1: its staging space is 9") && removed.contains("fullPercent 95"));
            // the explanation places the image as its creation would: where guests boot, not on a test-driver host
            assertTrue(explained.toString(), explained.path("action").asText()
                    .startsWith("answer RETRY_LATER: a new VM is needed but "));
            assertTrue(removed, removed.contains("\"filter\":\"guest-kind\""));
            HttpResponse<String> turnedAway = client.post("/api/v1/requests", WIKI, Login.OPERATOR);
            assertEquals("the only host for a real image is full: " + turnedAway.body(), 503,
                    turnedAway.statusCode());
        } finally {
            pool.resizeStorage(1L << 40);
        }
        boolean kept = false;
        for (JsonNode image : FarmClient.json(client.get("/api/v1/images", Login.VIEWER)).path("images")) {
            kept |= "wiki".equals(image.path("offering").path("service").asText());
        }
        assertTrue("the image store keeps the wiki's image", kept);
        Grant again = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("xen1", again.hostId());
        assertEquals("CREATED", again.activation());
        assertEquals("staged again", staged.values().stream().sorted().toList(),
                stagedContent().values().stream().sorted().toList());
    }

    /** The VDIs the farm staged on the pool (complete, of a content, not a VM's own): uuid to content. */
    private static Map<String, String> stagedContent() {
        Map<String, String> staged = new java.util.TreeMap<>();
        for (Map<String, Object> vdi : pool.vdis()) {
            Map<?, ?> other = (Map<?, ?>) vdi.get("other_config");
            if (other.containsKey("servicefarm.content") && "true".equals(other.get("servicefarm.complete"))
                    && !other.containsKey("servicefarm.vm")) {
                staged.put((String) vdi.get("uuid"), (String) other.get("servicefarm.content"));
            }
        }
        return staged;
    }

    @Test
    public void d_theDriverRemovedAndInstalledAgainWhileLibvirtServes() throws Exception {
        Grant onPool = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("xen1", onPool.hostId());

        appliance.shell("feature:uninstall servicefarm-driver-xapi");
        FarmClient.await("xen1 to be disconnected", Duration.ofSeconds(30),
                () -> !host("xen1").path("connected").asBoolean());
        assertTrue(host("xen1").path("detail").asText(), host("xen1").path("detail").asText()
                .contains("driver xapi is not installed"));
        Grant simulated = client.requestUntilGranted(WINDOWS, GRANT);
        assertTrue("the libvirt hosts serve meanwhile: " + simulated.hostId(),
                java.util.Set.of("alpha", "beta", "gamma").contains(simulated.hostId()));
        assertEquals("the pool's guest runs on without the farm", "Running",
                pool.vm(onPool.vmId()).orElseThrow().get("power_state"));

        appliance.shell("feature:install servicefarm-driver-xapi");
        FarmClient.await("xen1 to connect again", Duration.ofSeconds(60),
                () -> host("xen1").path("connected").asBoolean());
        Grant again = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("the guest that ran on is served again", onPool.vmId(), again.vmId());
        assertEquals("ACTIVE", again.activation());
    }

    @Test
    public void e_aPoolWhoseXapiRestartsIsConnectedAgainWithItsGuests() throws Exception {
        Grant before = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("xen1", before.hostId());
        pool.stop();
        FarmClient.await("xen1 to be seen gone", Duration.ofSeconds(30),
                () -> !host("xen1").path("connected").asBoolean());
        pool.invalidateSessions(); // a restarted xapi knows no session
        pool.restart();
        FarmClient.await("xen1 to connect again", Duration.ofSeconds(60),
                () -> host("xen1").path("connected").asBoolean());
        Grant after = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("its guest is the farm's again", before.vmId(), after.vmId());
        assertEquals("ACTIVE", after.activation());
    }
}
