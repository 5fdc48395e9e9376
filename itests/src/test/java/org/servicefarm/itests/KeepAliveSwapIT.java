package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceReference;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * In the assembled appliance every keep-alive policy is installed, the fixed timers are in force, and switching the
 * lifecycle's {@code policy.target} hands the next sweep to another policy without a restart: a VM the fixed timers
 * keep asleep forever (no archive timer) is archived once the histogram policy is in force, which comes into force
 * taught the requests asked before it (from the store's counts), and again when another range empties its
 * histograms; and the keep-alive view
 * ({@code GET /api/v1/keepalive}) names the policy in force and what it learned of each combination.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KeepAliveSwapIT extends BootedAppliance {

    @Test
    public void theFixedTimersDecideUntilTheHistogramPolicyIsChosenAtRunTime() throws Exception {
        await("the three keep-alive policies", () -> policyNames().equals(Set.of("adaptive", "fixed", "histogram")),
                this::keepAliveBundles);
        update("org.servicefarm.keepalive.fixed", Map.of("sleep.after.s", "2", "archive.after.s", "0",
                "inDemand.requestsPerMinute", "0"));
        update("org.servicefarm.keepalive.histogram", Map.of("fallback.keepAlive.s", "2"));
        update("org.servicefarm.lifecycle", Map.of("sweep.interval.s", "1"));

        Outcome outcome = serviceManager.request(ServiceRequest.of("wiki").withDeadline(Duration.ofSeconds(60)));
        String vm = ((Outcome.Granted) outcome).vmId();
        await("asleep under the fixed timers", () -> state(vm) == VmState.SLEEPING);
        FarmClient.pause(3000);
        assertEquals("no archive timer: the fixed policy leaves it asleep", VmState.SLEEPING, state(vm));

        JsonNode fixed = keepAlive();
        assertEquals("the view names the policy in force", "fixed", fixed.path("policy").asText());
        assertEquals("the fixed timers keep no plan per combination", 0, fixed.path("combinations").size());

        update("org.servicefarm.lifecycle", Map.of("policy.target", "(keepalive.name=histogram)"));
        await("archived by the histogram policy (its fallback keep-alive passed)",
                () -> state(vm) == VmState.ARCHIVED);

        // the policy now in force was taught the request asked before it: the next one makes an idle time
        JsonNode taught = keepAlive();
        assertEquals("histogram", taught.path("policy").asText());
        assertEquals(taught.toString(), "wiki", taught.at("/combinations/0/offering/service").asText());
        assertEquals(taught.toString(), 0, taught.at("/combinations/0/idleTimes").asLong());
        serviceManager.request(ServiceRequest.of("wiki").withDeadline(Duration.ofSeconds(60)));
        JsonNode histogram = keepAlive();
        JsonNode wiki = histogram.at("/combinations/0");
        assertEquals(wiki.toString(), 1, wiki.path("idleTimes").asLong());

        // another range empties the policy's histograms: it is taught again, and knows the same
        update("org.servicefarm.keepalive.histogram", Map.of("range.minutes", "120"));
        await("the histogram policy taught again after its range changed", () -> {
            JsonNode view = keepAlive();
            return "histogram".equals(view.path("policy").asText())
                    && view.at("/combinations/0/idleTimes").asLong() == 1;
        }, () -> keepAlive().toString());
    }

    /** GET /api/v1/keepalive as a viewer. */
    private JsonNode keepAlive() {
        java.net.http.HttpResponse<String> response = client.get("/api/v1/keepalive", FarmClient.Login.VIEWER);
        assertEquals(response.body(), 200, response.statusCode());
        return FarmClient.json(response);
    }

    private Set<String> policyNames() {
        try {
            Set<String> names = new TreeSet<>();
            ServiceReference<?>[] refs = bundleContext.getAllServiceReferences(KeepAlivePolicy.class.getName(), null);
            for (ServiceReference<?> ref : refs == null ? new ServiceReference<?>[0] : refs) {
                names.add(String.valueOf(ref.getProperty(KeepAlivePolicy.NAME)));
            }
            return names;
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What a failure should say: the keep-alive bundles, their states and the policies registered. */
    private String keepAliveBundles() {
        StringBuilder said = new StringBuilder("; policies " + policyNames() + "; bundles:");
        for (org.osgi.framework.Bundle bundle : bundleContext.getBundles()) {
            if (bundle.getSymbolicName() != null && bundle.getSymbolicName().contains("keepalive")) {
                said.append(' ').append(bundle.getSymbolicName()).append('=').append(bundle.getState());
            }
        }
        return said.toString();
    }

    private VmState state(String vmId) {
        return serviceManager.stateTable().vm(vmId).map(v -> v.state()).orElse(null);
    }

    private void update(String pid, Map<String, String> settings) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            properties.put(setting.getKey(), setting.getValue());
        }
        configuration.update(properties);
    }

    private static void await(String what, BooleanSupplier condition) {
        await(what, condition, () -> "");
    }

    private static void await(String what, BooleanSupplier condition, java.util.function.Supplier<String> state) {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what + state.get());
            }
            FarmClient.pause(50);
        }
    }
}
