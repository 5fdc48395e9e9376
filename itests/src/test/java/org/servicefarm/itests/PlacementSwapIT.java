package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The placement strategy is swapped under a steady stream of requests: the strategy in force is uninstalled,
 * another installed and the configuration switched to it. No request fails meanwhile, and the new strategy's
 * choices appear.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PlacementSwapIT extends BootedAppliance {

    private static final Duration GRANT = Duration.ofSeconds(60);

    @Test
    public void aStrategySwappedUnderLoadFailsNoRequestAndItsChoicesAppear() throws Exception {
        List<String> offerings = standardOfferings(4);
        String warm = offerings.get(0);
        String second = offerings.get(1);
        String probe = offerings.get(2);
        String fresh = offerings.get(3);

        // least-loaded (the default) on an idle farm: the first VM goes to gamma (equal load 0, more room than
        // alpha), the second to the then emptier alpha, and the next would go to gamma (alpha is at half its vCPUs)
        assertEquals("gamma", client.requestUntilGranted(warm, GRANT).hostId());
        assertEquals("alpha", client.requestUntilGranted(second, GRANT).hostId());
        JsonNode before = explain(probe);
        assertEquals("least-loaded", before.at("/placement/strategy").asText());
        assertEquals("gamma", before.at("/placement/chosen").asText());

        Load load = new Load(List.of(
                // tier free: one VM per offering, so the stream's load does not add a replica that would fill alpha
                () -> judgeRequest(client.post("/api/v1/requests", freeTier(warm), Login.OPERATOR)),
                // a cold offering: its VM is placed at once (least-loaded: gamma) and built while the swap goes on
                () -> judgeRequest(client.post("/api/v1/requests", fresh, Login.OPERATOR)),
                () -> judgeExplanation(client.post("/api/v1/requests?explain=true", probe, Login.OPERATOR))));
        load.start();
        try {
            FarmClient.pause(1000);
            // by bundle, not by feature: least-loaded comes with the default feature set, which the features
            // service would otherwise put back when another feature is installed
            Bundle leastLoaded = bundle("org.servicefarm.placement-least-loaded");
            String binpack = leastLoaded.getLocation().replace("placement-least-loaded", "placement-binpack");
            leastLoaded.uninstall();
            FarmClient.pause(500); // requests go on with no strategy installed
            bundleContext.installBundle(binpack).start();
            setPlacementTarget("(placement.name=binpack)");
            await("binpack to be in force", () -> "binpack".equals(explain(probe).at("/placement/strategy").asText()));
            FarmClient.pause(1500);
        } finally {
            load.stop();
        }

        assertEquals("failed requests: " + load.failures, List.of(), load.failures);
        assertTrue("a steady stream: " + load.answers, load.answers.get() > 30);
        assertTrue("least-loaded answered before the swap: " + strategies, strategies.contains("least-loaded"));
        assertTrue("binpack answered after it: " + strategies, strategies.contains("binpack"));

        // bin-packing fills the fuller host that still holds the VM: alpha, where least-loaded chose gamma
        JsonNode after = explain(probe);
        assertEquals("binpack", after.at("/placement/strategy").asText());
        assertEquals("alpha", after.at("/placement/chosen").asText());
        assertNotEquals(before.at("/placement/chosen").asText(), after.at("/placement/chosen").asText());
        assertEquals("alpha", client.requestUntilGranted(probe, GRANT).hostId());
        assertEquals("gamma", client.requestUntilGranted(fresh, GRANT).hostId());
    }

    /** Threads that send their call again and again until stopped, judging every answer. */
    private static final class Load {
        final List<Runnable> calls;
        final List<Thread> threads = new ArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicInteger answers = new AtomicInteger();
        final List<String> failures = new CopyOnWriteArrayList<>();

        Load(List<Runnable> calls) {
            this.calls = calls;
        }

        void start() {
            for (Runnable call : calls) {
                Thread thread = new Thread(() -> {
                    while (running.get()) {
                        try {
                            call.run();
                        } catch (RuntimeException | AssertionError e) {
                            failures.add(e.toString());
                        }
                        answers.incrementAndGet();
                        FarmClient.pause(20);
                    }
                }, "placement-swap-load");
                thread.start();
                threads.add(thread);
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread thread : threads) {
                thread.join(30_000);
            }
        }
    }

    /** The strategies the explanations named while the load ran. */
    private final Set<String> strategies = ConcurrentHashMap.newKeySet();

    /** A grant, or a RETRY_LATER while the VM is being made: anything else fails. */
    private static void judgeRequest(HttpResponse<String> response) {
        JsonNode body = FarmClient.json(response);
        if (response.statusCode() == 200 && "GRANTED".equals(body.path("outcome").asText())) {
            return;
        }
        String detail = body.path("detail").asText();
        if (response.statusCode() == 503 && (detail.startsWith("creating a VM") || detail.startsWith("resuming")
                || detail.startsWith("restoring"))) {
            return;
        }
        throw new AssertionError(response.statusCode() + " " + response.body());
    }

    /** An explanation whose placement found a host. */
    private void judgeExplanation(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            throw new AssertionError(response.statusCode() + " " + response.body());
        }
        JsonNode body = FarmClient.json(response);
        String chosen = body.at("/placement/chosen").asText("");
        if (chosen.isEmpty()) {
            throw new AssertionError("no host chosen: " + response.body());
        }
        strategies.add(body.at("/placement/strategy").asText());
    }

    private static String freeTier(String body) {
        try {
            return FarmClient.JSON.writeValueAsString(((ObjectNode) FarmClient.JSON.readTree(body)).put("tier", "free"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private JsonNode explain(String body) {
        HttpResponse<String> response = client.post("/api/v1/requests?explain=true", body, Login.OPERATOR);
        assertEquals(response.body(), 200, response.statusCode());
        return FarmClient.json(response);
    }

    /** The first {@code n} viable offerings at the standard security level (the demo's alpha and gamma zone). */
    private List<String> standardOfferings(int n) throws Exception {
        HttpResponse<String> response = client.get("/api/v1/catalog/offerings?limit=100", Login.VIEWER);
        assertEquals(response.body(), 200, response.statusCode());
        List<String> bodies = new ArrayList<>();
        for (JsonNode offering : FarmClient.json(response).path("offerings")) {
            if ("standard".equals(offering.path("securityLevel").asText()) && bodies.size() < n) {
                bodies.add(FarmClient.JSON.writeValueAsString((ObjectNode) offering));
            }
        }
        assertEquals(n, bodies.size());
        return bodies;
    }

    private void setPlacementTarget(String target) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(
                "org.servicefarm.placement", "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        properties.put("placement.target", target);
        configuration.update(properties);
    }

    private static void await(String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            FarmClient.pause(50);
        }
    }
}
