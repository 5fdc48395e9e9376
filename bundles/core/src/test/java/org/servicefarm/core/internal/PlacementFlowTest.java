package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.VmEvent;

/** Placement as the service manager uses it: explanations, drained and failing hosts, use kept by the table. */
class PlacementFlowTest {

    private static final Duration LONG = Duration.ofSeconds(10);
    private Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    private Outcome request(String service) {
        return farm.manager.request(ServiceRequest.of(service).withDeadline(LONG));
    }

    private int used(String host) {
        return farm.host(host).orElseThrow().used().vms();
    }

    @Test
    void anExplanationSaysWhatWouldHappenAndChangesNothing() {
        List<HostStatus> before = farm.hosts.statuses();

        Explanation cold = farm.manager.explain(ServiceRequest.of("wiki"));

        assertEquals("create a VM on host large", cold.action());
        assertEquals("wiki", cold.offering().service());
        assertEquals("fewest-vms", cold.placement().strategy());
        assertEquals("large", cold.placement().chosen());
        assertEquals(List.of("large", "small"), cold.placement().candidates().stream().map(c -> c.name()).toList());
        assertEquals("security-zone", cold.placement().removed().get(0).filter());
        assertEquals(1, cold.placement().removed().get(0).hosts(), "vault, in the high zone");
        assertTrue(farm.vms().isEmpty(), "nothing created");
        assertEquals(before, farm.hosts.statuses(), "nothing reserved");

        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        Explanation warm = farm.manager.explain(ServiceRequest.of("wiki"));
        assertEquals("grant VM " + granted.vmId() + " on large (ACTIVE)", warm.action());
        assertNull(warm.placement());

        Explanation never = farm.manager.explain(new ServiceRequest("wiki", null, new Environment("windows-2022", null,
                null, List.of()), null, null, null));
        assertTrue(never.action().startsWith("answer NEVER: "), never.action());
        assertNull(never.offering());
    }

    @Test
    void aDrainedHostGetsNoNewVmAndKeepsItsOwn() {
        Outcome.Granted first = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals("large", first.hostId());
        assertTrue(farm.manager.drain("large", true).drained());
        assertTrue(farm.host("large").orElseThrow().drained());

        assertEquals("small", assertInstanceOf(Outcome.Granted.class, request("blog")).hostId());
        assertEquals(first.vmId(), assertInstanceOf(Outcome.Granted.class, request("wiki")).vmId(),
                "its VM still serves");
        assertTrue(farm.manager.explain(ServiceRequest.of("shop")).placement().removed().stream()
                .anyMatch(r -> r.filter().equals("drained") && r.hosts() == 1));

        farm.manager.drain("large", false);
        assertEquals("large", assertInstanceOf(Outcome.Granted.class, request("shop")).hostId());
        assertThrows(NotFoundException.class, () -> farm.manager.drain("nowhere", true));
    }

    /**
     * A creation whose host fails goes on to the next host placement chooses: the client is granted a VM there, the
     * VM that failed is recorded FAILED with why; when every host the VM may go to fails, the answer is the last
     * failure (not "no host").
     */
    @Test
    void aCreationWhoseHostFailsIsTriedOnTheNextHost() {
        farm.hypervisor.failingHosts.add("large");
        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals("small", granted.hostId());
        VmRecord failed = farm.table.vms().stream().filter(vm -> vm.state() == VmState.FAILED).findFirst()
                .orElseThrow();
        assertEquals("large", failed.hostId());
        assertEquals("creation failed: host large is failing; another host is tried", failed.detail());
        assertEquals(1, farm.host("large").orElseThrow().health().consecutiveFailures());
        assertEquals(0, used("large"), "the failed VM's room is given back");
        assertTrue(farm.table.vm(granted.vmId()).orElseThrow().detail().contains("failed on large"),
                farm.table.vm(granted.vmId()).orElseThrow().detail());

        farm.hypervisor.failingHosts.add("small");
        Outcome.RetryLater neither = assertInstanceOf(Outcome.RetryLater.class, request("blog"));
        assertTrue(neither.detail().startsWith("host small is failing (no other host could take the VM: no host can "
                + "take the VM"), neither.detail());
    }

    @Test
    void aHostWhoseDriverKeepsFailingIsSkippedUntilItRecovers() {
        farm.close();
        farm = new Farm(Map.of("create.attempts", 1)); // each failure answered: the health filter's own work
        farm.hypervisor.failingHosts.add("large");
        for (int i = 0; i < 3; i++) {
            Outcome.RetryLater failed = assertInstanceOf(Outcome.RetryLater.class, request("wiki"));
            assertTrue(failed.detail().contains("large is failing"), failed.detail());
        }
        assertEquals(3, farm.host("large").orElseThrow().health().consecutiveFailures());

        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals("small", granted.hostId(), "large is skipped while it backs off");
        assertTrue(farm.manager.explain(ServiceRequest.of("blog")).placement().removed().stream()
                .anyMatch(r -> r.filter().equals("health") && r.example().contains("failed 3 times in a row")));

        farm.hypervisor.failingHosts.clear();
        farm.index.succeeded("large"); // any call that succeeds, e.g. a destroy
        assertEquals("large", assertInstanceOf(Outcome.Granted.class, request("blog")).hostId());
        assertEquals(0, farm.host("large").orElseThrow().health().consecutiveFailures());
    }

    @Test
    void aHostsUseFollowsItsVmsAsTheyComeAndGo() {
        Outcome.Granted wiki = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        Outcome.Granted blog = assertInstanceOf(Outcome.Granted.class, request("blog"));
        assertEquals(1, used(wiki.hostId()));
        assertEquals(1, used(blog.hostId()));
        assertEquals(2, farm.table.capped());

        farm.hosts.onEvent(new VmEvent(wiki.hostId(), wiki.vmId(), VmState.DESTROYED, "gone"));

        assertEquals(0, used(wiki.hostId()));
        assertEquals(1, farm.table.capped());
        assertEquals(256, farm.host(blog.hostId()).orElseThrow().used().memoryMiB());
    }

    @Test
    void concurrentCreationsNeverExceedTheVmCapNorAHost() throws Exception {
        farm.close();
        Farm capped = new Farm(Map.of("vm.cap", 3));
        try {
            List<org.servicefarm.api.Offering> offerings = capped.directory.offerings(100).stream()
                    .filter(o -> o.securityLevel().equals("standard")).limit(12).toList();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
            // two waves: the first fills the cap with VMs being created (none may be evicted), the second evicts
            // the first's VMs, now ACTIVE, several at once
            for (List<org.servicefarm.api.Offering> wave : List.of(offerings.subList(0, 6), offerings.subList(6, 12))) {
                List<java.util.concurrent.Future<Outcome>> answers = new java.util.ArrayList<>();
                for (org.servicefarm.api.Offering offering : wave) {
                    answers.add(pool.submit(() -> capped.manager.request(offering.toRequest().withDeadline(LONG))));
                }
                for (java.util.concurrent.Future<Outcome> answer : answers) {
                    answer.get(30, java.util.concurrent.TimeUnit.SECONDS);
                }
            }
            pool.shutdown();
            assertTrue(capped.table.vms().stream().anyMatch(vm -> vm.state() == VmState.ARCHIVED
                    && vm.detail().startsWith("evicted")), "the second wave evicted");
            long counted = capped.table.occupying().stream().filter(vm -> StateTable.holdsHost(vm)
                    && vm.state() != VmState.DESTROYING).count();
            assertTrue(counted <= 3, "at most the cap: " + counted);
            assertEquals(counted, capped.table.capped(), "the cap count is the rows' count");
            for (HostStatus host : capped.hosts.statuses()) {
                long rows = capped.table.occupying().stream().filter(vm -> vm.hostId().equals(host.name())
                        && StateTable.holdsHost(vm)).count();
                assertEquals(rows, host.used().vms(), host.name() + "'s use is its rows'");
                assertTrue(host.used().vms() <= host.host().capacity().vms(), host.name());
            }
        } finally {
            capped.close();
        }
    }
}
