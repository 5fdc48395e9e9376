package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The reuse policy is swapped under a steady stream of requests for a warm offering: reuse-default is uninstalled,
 * reuse-cost installed from the appliance's system repository and {@code reuse.target} switched to it. Every request
 * is granted meanwhile, explanations name the policy that decided, and cost's choice appears: a VM on the cheap host
 * alpha (0.05/h) that serves instead of the first one, on gamma (0.30/h), where least-loaded placed it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ReuseSwapIT extends BootedAppliance {

    private static final Duration GRANT = Duration.ofSeconds(60);
    private static final String WIKI = "{\"service\":\"wiki\"}";

    @Test
    public void aReusePolicySwappedUnderLoadFailsNoRequestAndItsChoicesAppear() throws Exception {
        FarmClient.Grant first = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("least-loaded places the first VM on the biggest idle host", "gamma", first.hostId());
        JsonNode before = explain();
        assertEquals("default", before.at("/reuse/policy").asText());
        assertEquals("grant VM " + first.vmId() + " on gamma (ACTIVE)", before.path("action").asText());

        Set<String> policies = ConcurrentHashMap.newKeySet();
        List<String> failures = new CopyOnWriteArrayList<>();
        AtomicInteger granted = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        // a few requests a second: the VM stays below the standard tier's load threshold, so only the policy
        // (not load) decides whether another VM comes up
        Thread stream = new Thread(() -> {
            while (running.get()) {
                try {
                    HttpResponse<String> answer = client.post("/api/v1/requests", WIKI, Login.OPERATOR);
                    if (answer.statusCode() != 200) {
                        failures.add(answer.statusCode() + " " + answer.body());
                    } else {
                        granted.incrementAndGet();
                    }
                    policies.add(explain().at("/reuse/policy").asText());
                } catch (RuntimeException | AssertionError e) {
                    failures.add(e.toString());
                }
                FarmClient.pause(250);
            }
        }, "reuse-swap-load");
        stream.start();
        try {
            await("requests on the default policy", () -> granted.get() >= 4);
            Bundle defaults = bundle("org.servicefarm.reuse-default");
            String cost = defaults.getLocation().replace("reuse-default", "reuse-cost");
            defaults.uninstall();
            int gap = granted.get();
            await("requests with no policy installed", () -> granted.get() >= gap + 2);
            bundleContext.installBundle(cost).start();
            setReuseTarget("(reuse.name=cost)");
            await("cost's VM on alpha to serve", () -> {
                JsonNode now = explain();
                return "cost".equals(now.at("/reuse/policy").asText())
                        && now.at("/reuse/reason").asText().contains(" on alpha (0.05/h)");
            });
            int swapped = granted.get();
            await("requests on the cost policy", () -> granted.get() >= swapped + 4);
        } finally {
            running.set(false);
            stream.join(30_000);
        }

        assertEquals("failed requests", List.of(), failures);
        assertTrue("default decided before the swap: " + policies, policies.contains("default"));
        assertTrue("cost decided after it: " + policies, policies.contains("cost"));
        FarmClient.Grant after = client.requestUntilGranted(WIKI, GRANT);
        assertEquals("cost grants the VM on the cheap host", "alpha", after.hostId());
        JsonNode explained = explain();
        assertTrue(explained.at("/reuse/reason").asText(),
                explained.at("/reuse/reason").asText().startsWith("cheapest ACTIVE VM with headroom"));
    }

    private JsonNode explain() {
        HttpResponse<String> response = client.post("/api/v1/requests?explain=true", WIKI, Login.OPERATOR);
        assertEquals(response.body(), 200, response.statusCode());
        return FarmClient.json(response);
    }

    private void setReuseTarget(String target) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(
                "org.servicefarm.reuse", "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        properties.put("reuse.target", target);
        configuration.update(properties);
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            FarmClient.pause(100);
        }
    }
}
