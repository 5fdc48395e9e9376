package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The directory apart from the manager, as the seed describes it: two appliances of the shipped zip run as processes,
 * a manager (the demo's test-driver hosts) and a directory that holds no host and whose DNS front end forwards each
 * query to the manager's REST API (bundles/remote). The real {@code dig} asks the directory: SERVFAIL while the VM
 * is made on the manager, then an SRV answer whose endpoint the manager's guest serves; NXDOMAIN for what can never
 * be; the resolver's queries after a SERVFAIL reach the manager as that request's retries (its retry ticket passed
 * through the directory both ways), so the manager counts one request.
 */
public class DirectoryIT {
    private static final String NAME = "_static-site._tcp.os-alpine-3_20.farm.local";

    private static ApplianceProcess manager;
    private static ApplianceProcess directory;

    @BeforeClass
    public static void start() throws Exception {
        manager = new ApplianceProcess("directory-it-manager");
        directory = new ApplianceProcess("directory-it-directory");
        directory.withoutDemoHosts();
        Files.writeString(directory.home.resolve("etc/org.servicefarm.remote.cfg"), String.join("\n",
                "url = http://127.0.0.1:" + manager.httpPort, "user = operator", ".password = operator",
                "timeoutSeconds = 10", "unreachableRetrySeconds = 2", ""));
        directory.set("org.servicefarm.dns.cfg", "manager.target", "(servicefarm.manager=remote)");
        String explain = "{\"service\":\"static-site\"}";
        manager.start(explain);
        manager.client.awaitHosts(Duration.ofSeconds(60), "alpha", "beta", "gamma");
        directory.start(explain);
    }

    @AfterClass
    public static void stop() throws Exception {
        try {
            if (directory != null) {
                directory.kill();
            }
        } finally {
            if (manager != null) {
                manager.kill();
            }
        }
    }

    /**
     * The directory's own shell uses its own manager, as its REST API does, not the one its DNS forwards to: the
     * remote manager refuses to explain a request, naming the manager appliance to ask.
     */
    @Test
    public void theDirectorysShellUsesItsOwnManager() throws Exception {
        String explained = directory.shell("farm:explain static-site");
        assertTrue(explained, explained.contains("EXPLAIN static-site"));
    }

    @Test
    public void theDirectoryAnswersOverDnsWhatTheManagerAppliancePrepares() throws Exception {
        String first = dig("SRV", NAME);
        assertTrue(first, first.contains("status: SERVFAIL") || first.contains("status: NOERROR"));
        String answer = first.contains("status: NOERROR") ? first : null;
        int retries = 0;
        Instant deadline = Instant.now().plusSeconds(60);
        while (answer == null && Instant.now().isBefore(deadline)) {
            FarmClient.pause(1000);
            String again = dig("SRV", NAME);
            if (again.contains("status: NOERROR")) {
                answer = again;
            } else {
                assertTrue(again, again.contains("status: SERVFAIL"));
                retries++;
            }
        }
        assertTrue("answered over the directory's DNS within 60 s", answer != null);
        Matcher srv = Pattern.compile(Pattern.quote(NAME) + "\\.\\s+\\d+\\s+IN\\s+SRV\\s+0 0 (\\d+) (sf-[0-9a-f]{12})\\.")
                .matcher(answer);
        assertTrue(answer, srv.find());

        // the VM is the manager's: its row is there, the directory holds none, and its guest serves the endpoint
        JsonNode vm = FarmClient.json(manager.client.get("/api/v1/vms/" + srv.group(2), Login.VIEWER));
        assertEquals(vm.toString(), "ACTIVE", vm.path("state").asText());
        assertEquals(0, FarmClient.json(directory.client.get("/api/v1/vms", Login.VIEWER)).path("vms").size());
        JsonNode endpoint = FarmClient.JSON.createObjectNode().put("host", "127.0.0.1")
                .put("port", Integer.parseInt(srv.group(1)));
        HttpResponse<String> page = manager.client.getService(endpoint);
        assertEquals(page.body(), 200, page.statusCode());
        assertTrue(page.body(), page.body().contains("vm " + srv.group(2) + "\n"));

        // the resolver's queries after its SERVFAIL were that request's retries, forwarded with their ticket
        JsonNode counted = null;
        for (JsonNode demand : FarmClient.json(manager.client.get("/api/v1/popularity", Login.VIEWER))
                .path("offerings")) {
            if (demand.path("offering").path("service").asText().equals("static-site")) {
                counted = demand;
            }
        }
        assertTrue("the manager counts static-site", counted != null);
        assertEquals(retries + " retries: " + counted, 1, counted.path("requests").asLong());

        // never: the manager's reason, as NXDOMAIN from the directory
        String never = dig("SRV", "_wiki._tcp.os-windows-2022.farm.local");
        assertTrue(never, never.contains("status: NXDOMAIN"));
    }

    private static String dig(String type, String name) throws Exception {
        return FarmClient.dig(directory.dnsPort, type, name, false);
    }
}
