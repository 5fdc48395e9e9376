package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * A host's connection that ends (its hypervisor's daemon restarted) is made again, and the host serves as before; a
 * host that cannot be connected is tried again at doubling intervals, up to {@link HostRegistry#LONGEST_RETRY}, and
 * joins once its hypervisor answers. The registry's watch runs here on demand, on a clock of the test's own.
 */
class HostReconnectTest {

    private final Farm farm = new Farm(Map.of());
    private final AtomicLong nanos = new AtomicLong();

    HostReconnectTest() {
        farm.hosts.nanoTime = nanos::get;
    }

    @AfterEach
    void stop() {
        farm.close();
    }

    private Outcome.Granted wiki() {
        return assertInstanceOf(Outcome.Granted.class,
                farm.manager.request(ServiceRequest.of("wiki").withDeadline(Duration.ofSeconds(10))));
    }

    private void watch() throws Exception {
        farm.hosts.watchConnections(nanos.get()).get();
    }

    private void advance(Duration by) {
        nanos.addAndGet(by.toNanos());
    }

    private HostStatus large() {
        return farm.host("large").orElseThrow();
    }

    @Test
    void aLostConnectionIsMadeAgainAndItsVmsServeOn() throws Exception {
        Outcome.Granted first = wiki();
        assertEquals("large", first.hostId(), "least-loaded places it on the biggest host");
        int connects = farm.hypervisor.connects.get();

        watch();
        assertEquals(connects, farm.hypervisor.connects.get(), "a live connection is left alone");

        farm.hypervisor.lostConnections.add("large");
        watch();
        assertEquals(connects + 1, farm.hypervisor.connects.get(), "connected again at once");
        assertTrue(large().connected(), String.valueOf(large().detail()));
        VmRecord vm = farm.vms().stream().filter(v -> v.id().equals(first.vmId())).findFirst().orElseThrow();
        assertEquals(VmState.ACTIVE, vm.state(), "its guest ran on: the reconcile of the new connection found it");

        Outcome.Granted again = wiki();
        assertEquals(first.vmId(), again.vmId(), "served by the same VM over the new connection");
        farm.hypervisor.external("large", first.vmId(), VmState.FAILED);
        Farm.await("the new connection's events to reach the table",
                () -> farm.vms().stream().anyMatch(v -> v.id().equals(first.vmId()) && v.state() != VmState.ACTIVE));
    }

    @Test
    void aHostThatCannotBeConnectedIsTriedAgainAtDoublingIntervalsAndJoinsWhenItAnswers() throws Exception {
        farm.hypervisor.unreachable.add("large");
        farm.hypervisor.lostConnections.add("large"); // the daemon went away, and is not back yet
        int connects = farm.hypervisor.connects.get();

        watch();
        assertFalse(large().connected());
        assertTrue(large().detail().contains("no hypervisor answers; trying again in 5 s"), large().detail());
        assertEquals("small", wiki().hostId(), "placed elsewhere meanwhile (least-loaded: the next biggest)");

        long[] waits = {5, 10, 20, 40, 80, 160, 300, 300};
        Duration early = HostRegistry.WATCH_PERIOD.dividedBy(2); // tried in the watch round nearest its time
        for (int i = 0; i < waits.length - 1; i++) {
            advance(Duration.ofSeconds(waits[i]).minus(early).minusMillis(1));
            watch();
            assertTrue(large().detail().endsWith("trying again in " + waits[i] + " s"),
                    "not tried before its wait: " + large().detail());
            advance(Duration.ofMillis(1));
            watch();
            assertTrue(large().detail().endsWith("trying again in " + waits[i + 1] + " s"),
                    "tried after " + waits[i] + " s: " + large().detail());
        }

        farm.hypervisor.unreachable.remove("large");
        advance(HostRegistry.LONGEST_RETRY);
        watch();
        assertTrue(large().connected(), String.valueOf(large().detail()));
        assertEquals(connects + 1, farm.hypervisor.connects.get(), "one connection, once it answered");
        advance(HostRegistry.LONGEST_RETRY);
        watch();
        assertEquals(connects + 1, farm.hypervisor.connects.get(), "and no more tries");
    }

    @Test
    void anOperatorConnectsAHostAtOnceInsteadOfAwaitingItsNextTry() throws Exception {
        farm.hypervisor.unreachable.add("large");
        farm.hypervisor.lostConnections.add("large");
        watch();
        for (long wait : new long[] {5, 10, 20, 40, 80, 160}) { // down for a while: its next try is 5 minutes away
            advance(Duration.ofSeconds(wait));
            watch();
        }
        assertTrue(large().detail().endsWith("trying again in 300 s"), large().detail());

        HostStatus stillDown = farm.manager.connect("large");
        assertFalse(stillDown.connected());
        assertTrue(stillDown.detail().endsWith("no hypervisor answers; trying again in 5 s"),
                "tried at once, and soon again: " + stillDown.detail());

        farm.hypervisor.unreachable.remove("large"); // the operator brought it back
        int connects = farm.hypervisor.connects.get();
        HostStatus back = farm.manager.connect("large");
        assertTrue(back.connected(), String.valueOf(back.detail()));
        assertEquals(connects + 1, farm.hypervisor.connects.get());
        assertTrue(farm.manager.connect("large").connected());
        assertEquals(connects + 1, farm.hypervisor.connects.get(), "a connected host is left as it is");
        assertEquals("no host named nowhere", org.junit.jupiter.api.Assertions.assertThrows(
                org.servicefarm.api.NotFoundException.class, () -> farm.manager.connect("nowhere")).getMessage());
    }

    @Test
    void aRestingVmOnAHostThatIsDownDoesNotHoldItsOfferingBack() throws Exception {
        Outcome.Granted first = wiki();
        assertEquals("large", first.hostId());
        farm.manager.sleep(first.vmId());
        farm.hypervisor.unreachable.add("large");
        farm.hypervisor.lostConnections.add("large");
        watch();
        assertFalse(large().connected());

        Outcome.Granted meanwhile = wiki();
        assertEquals("small", meanwhile.hostId(), "a new VM where a host answers, not the sleeper it cannot wake");
        assertEquals(org.servicefarm.api.Activation.CREATED, meanwhile.activation());
        VmRecord sleeper = farm.vms().stream().filter(v -> v.id().equals(first.vmId())).findFirst().orElseThrow();
        assertEquals(VmState.SLEEPING, sleeper.state(), "left as it was: its host holds it");

        farm.hypervisor.unreachable.remove("large");
        advance(HostRegistry.FIRST_RETRY);
        watch();
        assertTrue(large().connected(), String.valueOf(large().detail()));
    }

    @Test
    void aHostIsTriedAgainAtTheWatchRoundNearestItsRetry() throws Exception {
        largeGoesDown(); // its new connection failed in that round: the next try is due FIRST_RETRY later
        farm.hypervisor.unreachable.remove("large");
        advance(HostRegistry.WATCH_PERIOD.dividedBy(2).minusMillis(1));
        watch();
        assertFalse(large().connected(), "not in a round well before its time");
        advance(HostRegistry.FIRST_RETRY.minus(HostRegistry.WATCH_PERIOD.dividedBy(2)).minusMillis(1));
        watch();
        assertTrue(large().connected(), "in the round that comes a moment before its time, not the one after: "
                + large().detail());
    }

    /** Large's daemon stops answering: its connection ends and no new one can be made. */
    private void largeGoesDown() throws Exception {
        farm.hypervisor.unreachable.add("large");
        farm.hypervisor.lostConnections.add("large");
        watch();
        assertFalse(large().connected());
    }

    private void awaitProbed(String vmId) {
        Farm.await("a probe of " + vmId, () -> farm.manager.stranded.probed(vmId));
    }

    @Test
    void anActiveVmOfAHostThatIsDownIsGrantedWhileItsServiceAnswers() throws Exception {
        Outcome.Granted first = wiki();
        assertEquals("large", first.hostId());
        largeGoesDown();

        advance(Duration.ofSeconds(60)); // the shipped grace (unreachableHost.grace.s)
        assertEquals(first.vmId(), wiki().vmId(), "before its first probe ends, within the grace");
        awaitProbed(first.vmId());
        advance(Duration.ofMinutes(10));
        assertEquals(first.vmId(), wiki().vmId(), "its service answered: the guest runs on while the daemon is down");
    }

    @Test
    void aVmOfAHostThatIsDownIsNotEvictedToMakeRoom() throws Exception {
        farm.manager.modified(Farm.convert(Map.of("vm.cap", 1), FarmServiceManager.Config.class), null);
        Outcome.Granted first = wiki();
        largeGoesDown();

        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class,
                farm.manager.request(ServiceRequest.of("blog").withDeadline(Duration.ofSeconds(10))));
        assertTrue(later.detail().endsWith("no VM may be evicted (0 candidates; 1 on hosts not connected)"),
                later.detail());
        VmRecord vm = farm.vms().stream().filter(v -> v.id().equals(first.vmId())).findFirst().orElseThrow();
        assertEquals(VmState.ACTIVE, vm.state(), "not destroyed in the table while its guest runs on: " + vm.detail());
        assertEquals(VmState.ACTIVE, farm.hypervisor.guestsByHost.get("large").get(first.vmId()));
    }

    @Test
    void anActiveVmOfAHostThatIsDownIsPassedOverOnceItsServiceIsSilent() throws Exception {
        Outcome.Granted first = wiki();
        largeGoesDown();
        farm.hypervisor.answering = false; // the machine is gone, and its guests with it

        assertEquals(first.vmId(), wiki().vmId(), "before its first probe ends, within the grace");
        awaitProbed(first.vmId());
        farm.hypervisor.answering = true; // for the new VM's readiness
        Outcome.Granted after = wiki();
        assertEquals("small", after.hostId(), "well within the grace, a VM where a host answers");
        assertEquals(org.servicefarm.api.Activation.CREATED, after.activation());
    }
}
