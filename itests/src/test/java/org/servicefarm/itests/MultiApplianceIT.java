package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Two appliances serving one farm through one PostgreSQL database (a throwaway server of scripts/postgres, a database
 * of this test's own), both with the same two QEMU hosts of two VMs each on this machine's libvirt.
 * <p>
 * A burst of requests for four cold combinations, each sent to both appliances at once: every request is granted,
 * both appliances' grants of a combination name one VM, each combination is created once (four rows ever), no host
 * ever runs more than its two guests, and both appliances' tables agree. Then the leader is killed with SIGKILL: the
 * other leads within the lease and does the periodic work from then on (it puts the idle VMs to sleep). Between the
 * two, a host added on one appliance is added on the other, drained and undrained on either, and removed.
 */
public class MultiApplianceIT {
    private static final String[] HOSTS = {"multi-1", "multi-2"};
    private static final int VMS_PER_HOST = 2;
    private static final long LEASE_MS = 6000;
    private static final Duration GRANT = Duration.ofSeconds(180);
    private static final List<String> SERVERS = List.of("nginx-1.22", "httpd-2.4", "lighttpd-1.4",
            "busybox-httpd-1.35");
    private static final Path POSTGRES = Path.of("..", "scripts", "postgres");
    private static final String SAVES = Path.of("target", "multi-it-saves").toAbsolutePath().toString();

    private static boolean startedPostgres;
    private static final Map<String, ApplianceProcess> appliances = new HashMap<>();

    @BeforeClass
    public static void twoAppliancesOnOneDatabase() throws Exception {
        startedPostgres = !ApplianceProcess.run(Duration.ofSeconds(30), POSTGRES.toString(), "url")
                .startsWith("jdbc:");
        String started = ApplianceProcess.run(Duration.ofSeconds(300), POSTGRES.toString(), "start").strip();
        assertTrue("scripts/postgres start failed: " + started, started.startsWith("jdbc:"));
        String url = ApplianceProcess.run(Duration.ofSeconds(60), POSTGRES.toString(), "database", "sf_multi_it")
                .strip();
        assertTrue("scripts/postgres database failed: " + url, url.startsWith("jdbc:"));
        for (String host : HOSTS) {
            ApplianceProcess.removeGuests(host);
        }
        for (String name : List.of("multi-a", "multi-b")) {
            ApplianceProcess appliance = new ApplianceProcess(name);
            appliance.withoutDemoHosts();
            for (int i = 0; i < HOSTS.length; i++) {
                // one host, two appliances, one port range: both hand out its lowest free ports first, so their
                // guests' ports clash when they create at once; QEMU's bind decides, the other starts on other ports
                int first = 24800 + 50 * i;
                appliance.qemuHost(HOSTS[i], VMS_PER_HOST, first + "-" + (first + 49), pool(HOSTS[i]),
                        "/var/lib/libvirt/images/" + pool(HOSTS[i]));
            }
            appliance.set("org.ops4j.datasource-servicefarm.cfg", "osgi.jdbc.driver.name", "PostgreSQL JDBC Driver");
            appliance.set("org.ops4j.datasource-servicefarm.cfg", "url", url);
            appliance.set("org.ops4j.datasource-servicefarm.cfg", "user", "servicefarm");
            appliance.set("org.ops4j.datasource-servicefarm.cfg", "password", "servicefarm");
            // saved states are the hosts', not an appliance's: one folder, so either appliance restores any archive
            appliance.set("org.servicefarm.driver.libvirt.cfg", "stateDir", SAVES);
            appliance.set("org.servicefarm.store.jdbc.cfg", "applianceName", name);
            appliance.set("org.servicefarm.store.jdbc.cfg", "pollMs", "200");
            appliance.set("org.servicefarm.store.jdbc.cfg", "applianceLeaseMs", String.valueOf(LEASE_MS));
            // the sweeps: often, sleeping a VM idle for 20 s, never kept for demand
            appliance.set("org.servicefarm.lifecycle.cfg", "sweep.interval.s", "2");
            // (a client retrying RETRY_LATER through a slow boot asks often: never "in demand" here)
            appliance.set("org.servicefarm.keepalive.fixed.cfg", "inDemand.requestsPerMinute", "100000");
            appliance.set("org.servicefarm.keepalive.fixed.cfg", "sleep.after.s", "20");
            appliances.put(name, appliance);
        }
        // one after the other: the first defines the hosts' staging pools on libvirt, the second finds them
        for (ApplianceProcess appliance : appliances.values()) {
            appliance.start(site("busybox-1.35", "busybox-httpd-1.35"));
        }
    }

    @AfterClass
    public static void cleanUp() throws Exception {
        try {
            for (ApplianceProcess appliance : appliances.values()) {
                appliance.kill();
            }
        } finally {
            try {
                for (String host : HOSTS) {
                    ApplianceProcess.removeGuests(host);
                    RealGuestsIT.removePool(pool(host));
                }
                ApplianceProcess.run(Duration.ofSeconds(60), "rm", "-rf", SAVES);
            } finally { // whatever failed above (libvirtd gone, say), the server this test started goes
                if (startedPostgres) {
                    ApplianceProcess.run(Duration.ofSeconds(60), POSTGRES.toString(), "stop");
                }
            }
        }
    }

    @Test
    public void aBurstSplitAcrossTwoAppliancesBuildsEachCombinationOnceAndTheOtherLeadsWhenTheLeaderDies()
            throws Exception {
        ApplianceProcess a = appliances.get("multi-a");
        ApplianceProcess b = appliances.get("multi-b");

        // the hosts' guests, watched while the burst runs
        Map<String, Integer> most = new ConcurrentHashMap<>();
        AtomicBoolean bursting = new AtomicBoolean(true);
        CompletableFuture<Void> watcher = CompletableFuture.runAsync(() -> {
            while (bursting.get()) {
                for (String host : HOSTS) {
                    try {
                        most.merge(host, ApplianceProcess.guestsOf(host).size(), Math::max);
                    } catch (Exception e) {
                        // a domain went while it was read: the next round counts it
                    }
                }
                FarmClient.pause(300);
            }
        });
        Map<String, List<CompletableFuture<Grant>>> grants = new HashMap<>();
        for (String server : SERVERS) {
            for (ApplianceProcess appliance : List.of(a, b)) {
                grants.computeIfAbsent(server, k -> new ArrayList<>()).add(CompletableFuture.supplyAsync(
                        () -> appliance.client.requestUntilGranted(site("busybox-1.35", server), GRANT)));
            }
        }
        Set<String> vms = new HashSet<>();
        for (String server : SERVERS) {
            Grant first = grants.get(server).get(0).join();
            Grant second = grants.get(server).get(1).join();
            assertEquals(server + ": both appliances grant the one VM of the combination", first.vmId(),
                    second.vmId());
            assertEquals(server + " answers on its endpoint", 200, a.client.getService(first.endpoint()).statusCode());
            vms.add(first.vmId());
        }
        bursting.set(false);
        watcher.join();
        assertEquals("one VM per combination", SERVERS.size(), vms.size());
        for (String host : HOSTS) {
            assertTrue(host + " ran " + most.get(host) + " guests at most, over its capacity of " + VMS_PER_HOST,
                    most.getOrDefault(host, 0) <= VMS_PER_HOST);
            assertTrue(host + " runs " + ApplianceProcess.guestsOf(host), ApplianceProcess.guestsOf(host).size()
                    <= VMS_PER_HOST);
        }
        // each combination created once, by either appliance: four rows ever, the same in both tables
        a.awaitUnder(Duration.ofSeconds(10), "both tables to agree", () -> rows(a).equals(rows(b)));
        assertEquals("rows ever made " + rows(a), vms, rows(a).keySet());

        // a host added over REST on one appliance is added on the other, and removed with it
        String added = "{\"name\":\"multi-added\",\"driver\":\"libvirt\",\"uri\":\"test:///default\","
                + "\"capacity\":{\"vcpus\":2,\"memoryMiB\":2048,\"vms\":4},\"costPerHour\":0.9,"
                + "\"securityZone\":\"standard\",\"properties\":{\"portRange\":\"23500-23599\"}}";
        assertEquals(201, a.client.post("/api/v1/hosts", added, Login.ADMIN).statusCode());
        b.awaitUnder(Duration.ofSeconds(30), "the host added on multi-a to be on multi-b",
                () -> b.client.get("/api/v1/hosts", Login.VIEWER).body().contains("\"multi-added\""));
        // a drain made on one is followed by the other within a follow round of 5 s, and so is an undrain
        assertEquals(200, b.client.send("POST", "/api/v1/hosts/multi-added/drain", null, Login.ADMIN).statusCode());
        a.awaitUnder(Duration.ofSeconds(15), "the drain made on multi-b to be on multi-a",
                () -> drained(a, "multi-added"));
        assertEquals(200, a.client.delete("/api/v1/hosts/multi-added/drain", Login.ADMIN).statusCode());
        b.awaitUnder(Duration.ofSeconds(15), "the undrain made on multi-a to be on multi-b",
                () -> !drained(b, "multi-added"));
        assertEquals(204, b.client.delete("/api/v1/hosts/multi-added", Login.ADMIN).statusCode());
        a.awaitUnder(Duration.ofSeconds(30), "the host removed on multi-b to be gone from multi-a",
                () -> !a.client.get("/api/v1/hosts", Login.VIEWER).body().contains("\"multi-added\""));

        // a service a host runs itself, added over REST on one appliance, is served by the other, and removed with it
        JsonNode wiki = FarmClient.json(a.client.post("/api/v1/requests?explain=true", "{\"service\":\"wiki\"}",
                Login.OPERATOR)).path("offering");
        String nativeService = "{\"name\":\"multi-native\",\"host\":\"s140\",\"endpoint\":{\"host\":\"127.0.0.1\","
                + "\"port\":1},\"offering\":" + wiki + "}";
        HttpResponse<String> addedNative = a.client.post("/api/v1/natives", nativeService, Login.ADMIN);
        assertEquals(addedNative.body(), 201, addedNative.statusCode());
        b.awaitUnder(Duration.ofSeconds(30), "the native service added on multi-a to be on multi-b",
                () -> b.client.get("/api/v1/natives/multi-native", Login.VIEWER).statusCode() == 200);
        assertEquals(204, b.client.delete("/api/v1/natives/multi-native", Login.ADMIN).statusCode());
        a.awaitUnder(Duration.ofSeconds(30), "the native service removed on multi-b to be gone from multi-a",
                () -> a.client.get("/api/v1/natives/multi-native", Login.VIEWER).statusCode() == 404);

        // the leader dies; the other leads within the lease and sweeps
        JsonNode status = a.status();
        String leader = status.path("leader").asText();
        assertTrue(status.toString(), appliances.containsKey(leader));
        String survivorName = leader.equals("multi-a") ? "multi-b" : "multi-a";
        ApplianceProcess survivor = appliances.get(survivorName);
        long killed = System.nanoTime();
        appliances.get(leader).kill();
        survivor.awaitUnder(Duration.ofMillis(LEASE_MS + 10_000), "the survivor to lead",
                () -> survivor.status() != null && survivor.status().path("leads").asBoolean());
        long tookMs = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("MultiApplianceIT: " + survivorName + " leads " + tookMs + " ms after " + leader
                + " was killed (lease " + LEASE_MS + " ms)");
        assertTrue("the survivor leads within the lease: " + tookMs + " ms", tookMs <= LEASE_MS);
        assertEquals(survivorName, survivor.status().path("leader").asText());
        // each VM used once more, now: the survivor's sweeps put every one to sleep once it is idle
        for (String server : SERVERS) {
            assertTrue(vms.contains(survivor.client.requestUntilGranted(site("busybox-1.35", server), GRANT).vmId()));
        }
        survivor.awaitUnder(Duration.ofSeconds(120), "the survivor's sweeps to put the idle VMs to sleep",
                () -> sleptBy(survivor, survivorName).equals(vms));
    }

    /** The VMs whose moves to SLEEPING {@code appliance} made, by the audit trail. */
    private static Set<String> sleptBy(ApplianceProcess reader, String appliance) {
        JsonNode audit = FarmClient.json(reader.client.get("/api/v1/audit?limit=1000", Login.ADMIN));
        Set<String> slept = new HashSet<>();
        for (JsonNode entry : audit.path("entries").isMissingNode() ? audit : audit.path("entries")) {
            if (entry.path("outcome").asText().endsWith("-> SLEEPING")
                    && appliance.equals(entry.path("appliance").asText())) {
                slept.add(entry.path("subject").asText().split(" ")[0]);
            }
        }
        return slept;
    }

    /** Whether {@code appliance} has {@code host} drained. */
    private static boolean drained(ApplianceProcess appliance, String host) {
        return FarmClient.json(appliance.client.get("/api/v1/hosts/" + host, Login.VIEWER)).path("drained").asBoolean();
    }

    /** Every row of an appliance's table: VM id to state. */
    private static Map<String, String> rows(ApplianceProcess appliance) {
        Map<String, String> rows = new HashMap<>();
        List<JsonNode> all = appliance.vms();
        if (all != null) {
            all.forEach(vm -> rows.put(vm.path("id").asText(), vm.path("state").asText()));
        }
        return rows;
    }

    private static String pool(String host) {
        return "servicefarm-" + host;
    }

    private static String site(String os, String server) {
        return "{\"service\":\"static-site\",\"environment\":{\"os\":\"" + os + "\",\"server\":\"" + server + "\"}}";
    }
}
