package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReusePolicy;
import org.servicefarm.reuse.cost.internal.CostReusePolicy;

/** The reuse policy in force decides, is swapped at run time without a failed request, and is explained. */
class ReuseSwapTest {

    private static final Duration LONG = Duration.ofSeconds(60);
    private static final ServiceRequest WIKI = ServiceRequest.of("wiki").withDeadline(LONG);
    private final Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    @Test
    void swappingThePolicyUnderAStreamOfRequestsChangesTheDecisionAndFailsNone() throws Exception {
        // loads held still, so which VM counts as busy does not depend on how fast this machine runs
        long frozen = System.nanoTime();
        farm.manager.loadClock = () -> frozen;
        Outcome.Granted first = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals("large", first.hostId(), "the test's placement: fewest VMs, then name");

        Explanation before = farm.manager.explain(WIKI);
        assertEquals("default", before.reuse().policy());
        assertEquals("grant VM " + first.vmId() + " on large (ACTIVE)", before.action());
        assertTrue(before.reuse().reason().startsWith("least loaded ACTIVE VM"), before.reuse().reason());

        ConcurrentLinkedQueue<Object> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger answered = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService clients = Executors.newFixedThreadPool(4);
        for (int i = 0; i < 4; i++) {
            clients.execute(() -> {
                while (running.get()) {
                    try {
                        Outcome outcome = farm.manager.request(WIKI);
                        if (!(outcome instanceof Outcome.Granted)) {
                            failures.add(outcome);
                        }
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                    answered.incrementAndGet();
                }
            });
        }
        try {
            Farm.await("requests on the default policy", () -> answered.get() >= 20);
            farm.reuse.unbindPolicy(boundDefault());
            int gap = answered.get();
            Farm.await("requests while no policy is bound", () -> answered.get() >= gap + 20);
            CostReusePolicy cost = new CostReusePolicy();
            cost.configure(Converters.standardConverter().convert(Map.of()).to(CostReusePolicy.Config.class), null);
            farm.reuse.bindPolicy(cost, Map.of(ReusePolicy.NAME, "cost"));
            Farm.await("the cost policy's VM on the cheap host", () -> farm.vms().stream()
                    .anyMatch(vm -> vm.hostId().equals("small") && vm.state() == VmState.ACTIVE));
            int swapped = answered.get();
            Farm.await("requests on the cost policy", () -> answered.get() >= swapped + 20);
        } finally {
            running.set(false);
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
        }
        assertEquals(List.of(), List.copyOf(failures), "every request was granted");

        // cost: the VM on small (0.10/h) is cheaper than the one on large (0.50/h), whatever their loads
        VmRecord cheap = farm.vms().stream().filter(vm -> vm.hostId().equals("small")).findFirst().orElseThrow();
        Outcome.Granted after = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals(cheap.id(), after.vmId());
        assertEquals(Activation.ACTIVE, after.activation());
        Explanation explained = farm.manager.explain(WIKI);
        assertEquals("cost", explained.reuse().policy());
        assertTrue(explained.reuse().reason().startsWith("cheapest ACTIVE VM with headroom: ACTIVE VM " + cheap.id()
                + " on small (0.10/h)"), explained.reuse().reason());
        assertEquals(2, farm.vms().size(), "one VM created by the swap, within standard's two replicas");
    }

    @Test
    void theCostPolicysDecisionIsExplainedBeforeItIsMade() {
        CostReusePolicy cost = new CostReusePolicy();
        cost.configure(Converters.standardConverter().convert(Map.of()).to(CostReusePolicy.Config.class), null);
        farm.reuse.unbindPolicy(boundDefault());
        farm.reuse.bindPolicy(cost, Map.of(ReusePolicy.NAME, "cost"));
        Outcome.Granted first = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals("large", first.hostId());

        Explanation explained = farm.manager.explain(WIKI);
        assertEquals("grant VM " + first.vmId() + " on large (ACTIVE); create a VM on host small in the background",
                explained.action());
        assertTrue(explained.reuse().reason().contains("host small (0.10/h) is cheaper than large"),
                explained.reuse().reason());
        assertEquals("small", explained.placement().chosen());
        assertEquals(1, farm.vms().size(), "explaining changed nothing");
    }

    @Test
    void aFailingPolicyIsCoveredByTheCoreAndSaysSo() {
        farm.reuse.unbindPolicy(boundDefault());
        farm.reuse.bindPolicy(request -> {
            throw new IllegalStateException("broken");
        }, Map.of(ReusePolicy.NAME, "broken"));
        Outcome.Granted created = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals(Activation.CREATED, created.activation());
        Explanation explained = farm.manager.explain(WIKI);
        assertTrue(explained.reuse().policy().startsWith("built-in (broken failed: java.lang.IllegalStateException: "
                + "broken)"), explained.reuse().policy());
        assertEquals("grant VM " + created.vmId() + " on large (ACTIVE)", explained.action());
    }

    @Test
    void aDecisionThatDoesNotFitTheRequestIsNotCarriedOut() {
        Outcome.Granted first = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        farm.reuse.unbindPolicy(boundDefault());
        // joins a creation that is not under way: a request left waiting on nothing if it were carried out
        farm.reuse.bindPolicy(request -> ReuseDecision.then(ReuseDecision.Step.JOIN, null, "join nothing"),
                Map.of(ReusePolicy.NAME, "confused"));
        Outcome.Granted second = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals(first.vmId(), second.vmId());
        assertEquals("built-in (confused failed: it joins work that is not under way)",
                farm.manager.explain(WIKI).reuse().policy());
    }

    @Test
    void withNoPolicyBoundTheCoreServesColdAndWarmRequests() {
        farm.reuse.unbindPolicy(boundDefault());
        Outcome.Granted created = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals(Activation.CREATED, created.activation());
        farm.manager.sleep(created.vmId());
        Outcome.Granted resumed = assertInstanceOf(Outcome.Granted.class, farm.manager.request(WIKI));
        assertEquals(Activation.RESUMED, resumed.activation());
        assertEquals(created.vmId(), resumed.vmId());
        assertEquals(Reuse.FALLBACK_NAME, farm.manager.explain(WIKI).reuse().policy());
    }

    /** The default policy the farm bound, as DS would unbind it. */
    private ReusePolicy boundDefault() {
        return farm.defaultReuse;
    }
}
