package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.testing.TestComponentContext;

/** Every branch of the request flow, on a core wired by hand over an in-memory hypervisor. */
class FarmServiceManagerTest {

    /**
     * A deadline no request of these tests should reach: requests that are to be granted are, long before it, and
     * the few that are to be answered RETRY_LATER are for a failure, never for the deadline. Generous, so that a
     * slow, loaded machine cannot turn a grant into a RETRY_LATER; it costs nothing when the test passes.
     */
    private static final Duration LONG = Duration.ofSeconds(60);
    private Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    private Outcome request(String service, Duration deadline) {
        return farm.manager.request(ServiceRequest.of(service).withDeadline(deadline));
    }

    private Outcome.Granted grant(String service) {
        return assertInstanceOf(Outcome.Granted.class, request(service, LONG));
    }

    @Test
    void nonViableCombinationIsNeverAndChangesNothing() {
        Outcome outcome = farm.manager.request(new ServiceRequest("wiki", null,
                new Environment(null, "tomcat-10.1", null, null), null, null, LONG));
        Outcome.Never never = assertInstanceOf(Outcome.Never.class, outcome);
        assertTrue(never.reason().contains("rule"), never.reason());
        assertTrue(farm.vms().isEmpty());
        assertEquals(0, farm.hypervisor.defines.get());
    }

    @Test
    void unknownServiceIsNever() {
        Outcome.Never never = assertInstanceOf(Outcome.Never.class, request("no-such-app", LONG));
        assertTrue(never.reason().contains("unknown service 'no-such-app'"), never.reason());
    }

    @Test
    void coldRequestCreatesAVmAndFillsTheEnvironment() {
        Outcome.Granted granted = grant("wiki");
        assertEquals(Activation.CREATED, granted.activation());
        assertEquals("wiki", granted.offering().service());
        assertEquals("2.1", granted.offering().version());
        assertEquals("php-8.2", granted.offering().environment().runtime());
        VmRecord vm = farm.manager.stateTable().vm(granted.vmId()).orElseThrow();
        assertEquals(VmState.ACTIVE, vm.state());
        assertEquals(granted.endpoint(), vm.endpoint());
        assertEquals(1, vm.grants());
        assertEquals(VmState.ACTIVE, farm.hypervisor.guestsByHost.get(vm.hostId()).get(vm.id()));
        assertEquals(1, farm.hypervisor.stages.get(), "the image was staged on the chosen host before define");
    }

    @Test
    void secondRequestReusesTheActiveVm() {
        Outcome.Granted first = grant("wiki");
        Outcome.Granted second = grant("wiki");
        assertEquals(Activation.ACTIVE, second.activation());
        assertEquals(first.vmId(), second.vmId());
        assertEquals(first.endpoint(), second.endpoint());
        assertEquals(1, farm.hypervisor.defines.get());
        assertEquals(2, farm.manager.stateTable().vm(first.vmId()).orElseThrow().grants());
    }

    @Test
    void sleepingVmIsResumed() {
        Outcome.Granted first = grant("wiki");
        farm.hypervisor.external(first.hostId(), first.vmId(), VmState.SLEEPING);
        assertEquals(VmState.SLEEPING, farm.table.vm(first.vmId()).orElseThrow().state());

        Outcome.Granted second = grant("wiki");
        assertEquals(Activation.RESUMED, second.activation());
        assertEquals(first.vmId(), second.vmId());
        assertEquals(VmState.ACTIVE, farm.hypervisor.guestsByHost.get(first.hostId()).get(first.vmId()));
    }

    @Test
    void archivedVmIsRestored() {
        Outcome.Granted first = grant("wiki");
        farm.hypervisor.external(first.hostId(), first.vmId(), VmState.ARCHIVED);

        Outcome.Granted second = grant("wiki");
        assertEquals(Activation.RESTORED, second.activation());
        assertEquals(first.vmId(), second.vmId());
        assertEquals(VmState.ACTIVE, farm.table.vm(first.vmId()).orElseThrow().state());
    }

    @Test
    void pastTheDeadlineTheAnswerIsRetryLaterAndTheBuildFinishes() {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("wiki", Duration.ofMillis(50)));
        assertTrue(later.retryAfterSeconds() >= 1);
        assertTrue(later.detail().startsWith("creating a VM for wiki@2.1"), later.detail());
        // the build goes on in the background: on a busy machine it may not have reached the hypervisor yet
        Farm.await("the VM to be starting", () -> !farm.vms().isEmpty() && farm.vms().get(0).state() == VmState.STARTING);
        VmRecord building = farm.vms().get(0);

        farm.hypervisor.bootGate.countDown();
        Farm.await("the VM to become ACTIVE", () -> farm.table.vm(building.id()).orElseThrow().state() == VmState.ACTIVE);
        Outcome.Granted next = assertInstanceOf(Outcome.Granted.class, request("wiki", Duration.ZERO));
        assertEquals(building.id(), next.vmId());
        assertEquals(Activation.ACTIVE, next.activation());
        assertEquals(1, farm.hypervisor.defines.get());
    }

    @Test
    void aRetryWithItsTicketIsNotCountedAgainAndABadOrForeignTicketCounts() {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        Outcome.RetryLater first = assertInstanceOf(Outcome.RetryLater.class, request("wiki", Duration.ofMillis(50)));
        assertTrue(first.retryTicket() != null && first.retryTicket().matches("[A-Za-z0-9_-]{22}"), first.retryTicket());
        ServiceRequest retry = ServiceRequest.of("wiki").withDeadline(Duration.ofMillis(50))
                .withRetryTicket(first.retryTicket());
        Outcome.RetryLater second = assertInstanceOf(Outcome.RetryLater.class, farm.manager.request(retry));
        assertInstanceOf(Outcome.RetryLater.class, farm.manager.request(retry.withRetryTicket(second.retryTicket())));
        assertEquals(1, popularity("wiki"), "two retries of one request: one request");

        // a ticket of another combination, or one that is not this manager's, is not a retry: the request counts
        assertInstanceOf(Outcome.RetryLater.class, farm.manager.request(ServiceRequest.of("blog")
                .withDeadline(Duration.ofMillis(50)).withRetryTicket(first.retryTicket())));
        assertEquals(1, popularity("blog"));
        farm.manager.request(retry.withRetryTicket("AAAAAAAAAAAAAAAAAAAAAA"));
        assertEquals(2, popularity("wiki"));
        farm.clock.advance(RetryTickets.VALID.plusSeconds(1));
        farm.manager.request(retry);
        assertEquals(1, popularity("wiki"), "too old: counted (the first ones slid out of the popularity window)");
        farm.hypervisor.bootGate.countDown();
    }

    /** How often the popularity tracker has counted requests for {@code service} in its window. */
    private long popularity(String service) {
        return farm.popularity.demand().stream().filter(d -> d.offering().service().equals(service))
                .mapToLong(org.servicefarm.api.image.Demand::requests).sum();
    }

    @Test
    void concurrentRequestsForOneColdCombinationBuildOnce() throws Exception {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        int callers = 16;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Outcome>> outcomes = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                outcomes.add(pool.submit(() -> {
                    go.await();
                    return request("shop", LONG);
                }));
            }
            go.countDown();
            Farm.await("the build to start", () -> farm.hypervisor.defines.get() == 1);
            farm.hypervisor.bootGate.countDown();
            Set<String> vmIds = new HashSet<>();
            int joined = 0;
            for (Future<Outcome> outcome : outcomes) {
                Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, outcome.get());
                // a caller that was late for the build finds the VM already ACTIVE
                joined += granted.activation() == Activation.CREATED ? 1 : 0;
                vmIds.add(granted.vmId());
            }
            assertTrue(joined >= 1);
            assertEquals(1, vmIds.size());
            assertEquals(1, farm.hypervisor.defines.get());
            assertEquals(callers, farm.table.vm(vmIds.iterator().next()).orElseThrow().grants());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void vmCapArchivesTheLeastRecentlyUsedVm() {
        farm.close();
        farm = new Farm(Map.of("vm.cap", 2));
        Outcome.Granted wiki = grant("wiki");
        farm.clock.advance(Duration.ofSeconds(1));
        Outcome.Granted shop = grant("shop");
        farm.clock.advance(Duration.ofSeconds(1));
        grant("shop");
        Outcome.Granted blog = grant("blog");
        assertEquals(Activation.CREATED, blog.activation());
        VmRecord archived = farm.table.vm(wiki.vmId()).orElseThrow();
        assertEquals(VmState.ARCHIVED, archived.state(), "archived: the budget has room");
        assertEquals(org.servicefarm.api.ArchiveTier.COMPRESSED, archived.archive().tier());
        assertTrue(archived.detail().startsWith("evicted: VM cap of 2 reached"), archived.detail());
        assertEquals(VmState.ACTIVE, farm.table.vm(shop.vmId()).orElseThrow().state());
        assertEquals(0, farm.hypervisor.destroys.get());
        assertEquals(2, farm.table.capped());
        // and a request for it brings it back, evicting another
        Outcome.Granted back = grant("wiki");
        assertEquals(Activation.RESTORED, back.activation());
        assertEquals(wiki.vmId(), back.vmId());
    }

    @Test
    void vmCapDestroysItsVictimWhenArchivesAreOff() {
        farm.close();
        farm = new Farm(Map.of("vm.cap", 2, "evict.archive", false));
        Outcome.Granted wiki = grant("wiki");
        farm.clock.advance(Duration.ofSeconds(1));
        Outcome.Granted shop = grant("shop");
        farm.clock.advance(Duration.ofSeconds(1));
        grant("shop");
        Outcome.Granted blog = grant("blog");
        assertEquals(Activation.CREATED, blog.activation());
        assertEquals(VmState.DESTROYED, farm.table.vm(wiki.vmId()).orElseThrow().state());
        assertEquals(VmState.ACTIVE, farm.table.vm(shop.vmId()).orElseThrow().state());
        assertEquals(1, farm.hypervisor.destroys.get());
        assertEquals(2, farm.table.occupying().size());
    }

    @Test
    void whenNothingMayBeEvictedTheAnswerIsRetryLater() {
        farm.close();
        farm = new Farm(Map.of("vm.cap", 1));
        grant("wiki");
        farm.eviction.bindVmPolicy((candidates, now) -> List.of()); // a policy that never evicts
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("blog", LONG));
        assertTrue(later.detail().contains("VM cap of 1"), later.detail());
        assertEquals(1, farm.table.occupying().size());
    }

    @Test
    void busyVmServesAtOnceWhileAReplicaIsBuiltUpToTheTierLimit() {
        farm.close();
        // one request a minute fills a VM: every grant makes it busy
        farm = new Farm(Map.of("vm.requestsPerMinute", 1.0));
        // Loads decay with time (a one-minute time constant): held still, a granted VM stays busy however slowly
        // this test runs. With the real clock the first VM fell below the standard tier's threshold (0.8) 13 s
        // after its grant and below premium's (0.5) after 42 s.
        long frozen = System.nanoTime();
        farm.manager.loadClock = () -> frozen;
        Outcome.Granted first = grant("wiki");
        farm.hypervisor.bootGate = new CountDownLatch(1);
        Outcome.Granted second = assertInstanceOf(Outcome.Granted.class, request("wiki", Duration.ZERO),
                "a busy ACTIVE VM serves without waiting for the replica");
        assertEquals(first.vmId(), second.vmId());
        assertEquals(Activation.ACTIVE, second.activation());
        Farm.await("a replica to be under way", () -> farm.table.occupying().size() == 2);
        farm.hypervisor.bootGate.countDown();
        Farm.await("the replica to be ACTIVE",
                () -> farm.table.occupying().stream().allMatch(vm -> vm.state() == VmState.ACTIVE));
        VmRecord replica = farm.table.occupying().stream().filter(vm -> !vm.id().equals(first.vmId()))
                .findFirst().orElseThrow();
        assertNotEquals(first.hostId(), replica.hostId(), "the replica goes to another host with fewer VMs");

        Outcome.Granted third = grant("wiki");
        assertEquals(replica.id(), third.vmId(), "the idle replica serves next");
        grant("wiki");
        assertEquals(2, farm.table.occupying().size(), "standard tier allows two replicas");

        // anti-affinity gives each replica a host of its own: a third standard host for the third replica
        farm.addHost("spare", 4, 0.20, "standard");
        Farm.await("spare to connect", () -> farm.host("spare").map(h -> h.connected()).orElse(false));
        ServiceRequest premium = ServiceRequest.of("wiki").withTier("premium").withDeadline(LONG);
        assertEquals(Activation.ACTIVE, ((Outcome.Granted) farm.manager.request(premium)).activation());
        Farm.await("premium tier's third replica", () -> farm.table.occupying().size() == 3);
        assertEquals(3, farm.table.occupying().stream().map(VmRecord::hostId).distinct().count(),
                "one replica per host");
    }

    @Test
    void highSecurityGoesToItsOwnZoneWithItsPatches() {
        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, farm.manager.request(
                new ServiceRequest("wiki", null, Environment.ANY, "high", null, LONG)));
        assertEquals("vault", granted.hostId());
        assertTrue(granted.offering().environment().patches().contains("openssl-3.0.15"));
        Outcome.Granted standard = grant("wiki");
        assertNotEquals("vault", standard.hostId());
    }

    @Test
    void noHostWithRoomMeansRetryLater() {
        farm.close();
        farm = new Farm(Map.of("vm.memoryMiB", 1_000_000));
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("wiki", LONG));
        assertTrue(later.detail().contains("no host can take the VM"), later.detail());
        assertTrue(farm.table.occupying().isEmpty());
    }

    @Test
    void failedCreationIsRecordedAndAnsweredRetryLater() {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        farm.manager.request(ServiceRequest.of("wiki").withDeadline(Duration.ZERO));
        Farm.await("the VM to boot", () -> !farm.vms().isEmpty() && farm.vms().get(0).state() == VmState.STARTING);
        VmRecord vm = farm.vms().get(0);
        farm.hypervisor.guestsByHost.get(vm.hostId()).put(vm.id(), VmState.SLEEPING); // start() will refuse
        farm.hypervisor.bootGate.countDown();
        Farm.await("the creation to fail", () -> farm.table.vm(vm.id()).orElseThrow().state() == VmState.FAILED);
        assertNotNull(farm.table.vm(vm.id()).orElseThrow().detail());
        assertInstanceOf(Outcome.Granted.class, request("wiki", LONG), "the next request builds anew");
    }

    @Test
    void malformedRequestsAreRefusedAndChangeNothing() {
        assertThrows(InvalidRequestException.class, () -> farm.manager.request(ServiceRequest.of(" ")));
        assertThrows(InvalidRequestException.class,
                () -> farm.manager.request(ServiceRequest.of("wiki").withTier("platinum")));
        assertThrows(InvalidRequestException.class,
                () -> farm.manager.request(ServiceRequest.of("wiki").withDeadline(Duration.ofHours(1))));
        assertThrows(InvalidRequestException.class, () -> ServiceRequest.of("wiki").withDeadline(Duration.ofMillis(-1)));
        assertTrue(farm.vms().isEmpty());
    }

    @Test
    void hypervisorEventsKeepTheTableTrue() {
        Outcome.Granted granted = grant("wiki");
        farm.hypervisor.external(granted.hostId(), granted.vmId(), VmState.DESTROYED);
        assertEquals(VmState.DESTROYED, farm.table.vm(granted.vmId()).orElseThrow().state());
        Outcome.Granted again = grant("wiki");
        assertEquals(Activation.CREATED, again.activation());
    }

    @Test
    void aVmThatFailsOutsideTheFarmIsCleanedUp() {
        Outcome.Granted granted = grant("wiki");
        farm.hypervisor.external(granted.hostId(), granted.vmId(), VmState.FAILED);
        assertEquals(VmState.FAILED, farm.table.vm(granted.vmId()).orElseThrow().state());
        Farm.await("the failed guest to be destroyed",
                () -> !farm.hypervisor.guestsByHost.get(granted.hostId()).containsKey(granted.vmId()));
        assertEquals(Capacity.ZERO, farm.host(granted.hostId()).orElseThrow().used());
    }

    @Test
    void aVmIsActiveOnlyOnceItsServiceAnswersOnItsEndpoint() {
        farm.hypervisor.answering = false;
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("wiki", Duration.ofMillis(300)));
        assertTrue(later.detail().startsWith("creating a VM for wiki"), later.detail());
        VmRecord starting = farm.vms().get(0);
        assertEquals(VmState.STARTING, starting.state(), "the hypervisor runs it, its service does not answer yet");
        assertEquals("started; waiting for its services to answer", starting.detail());
        assertNotNull(starting.endpoint(), "the endpoint start() reported is recorded at once");

        farm.hypervisor.answering = true;
        Farm.await("the VM to answer", () -> farm.table.vm(starting.id()).orElseThrow().state() == VmState.ACTIVE);
        assertEquals(starting.id(), grant("wiki").vmId());
    }

    @Test
    void aVmWhoseServiceNeverAnswersFailsItsCreationAndIsDestroyed() {
        farm.close();
        farm = new Farm(Map.of("probe.limit.ms", 300, "probe.interval.ms", 20, "probe.timeout.ms", 100));
        farm.hypervisor.answering = false;
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("wiki", LONG));
        assertTrue(later.detail().contains("did not answer HTTP within 300 ms"), later.detail());
        VmRecord failed = farm.vms().get(0);
        assertEquals(VmState.FAILED, failed.state());
        assertTrue(failed.detail().startsWith("creation failed: service wiki at 127.0.0.1:"), failed.detail());
        assertTrue(farm.hypervisor.guestsByHost.get(failed.hostId()).isEmpty(), "the guest is destroyed");

        farm.hypervisor.answering = true;
        assertEquals(Activation.CREATED, grant("wiki").activation(), "the next request builds anew");
    }

    @Test
    void aGuestThatFailsWhileItBootsEndsItsCreationAtOnce() throws Exception {
        farm.hypervisor.answering = false; // only its failure can end the wait before the probe's limit (120 s)
        java.util.concurrent.CompletableFuture<Outcome> waiting = farm.manager
                .requestAsync(ServiceRequest.of("wiki").withDeadline(LONG)).toCompletableFuture();
        Farm.await("the VM to boot", () -> !farm.vms().isEmpty() && farm.vms().get(0).state() == VmState.STARTING);
        VmRecord booting = farm.vms().get(0);
        String otherHost = farm.hypervisor.listeners.keySet().stream().filter(h -> !h.equals(booting.hostId()))
                .findFirst().orElseThrow();
        // another host's word on the VM (an old home of a relocated archive) says nothing of this guest
        farm.hypervisor.listeners.get(otherHost).onEvent(new org.servicefarm.api.driver.VmEvent(otherHost,
                booting.id(), VmState.FAILED, "stopped elsewhere"));
        Thread.sleep(200);
        assertEquals(VmState.STARTING, farm.table.vm(booting.id()).orElseThrow().state());
        assertFalse(waiting.isDone());

        farm.hypervisor.external(booting.hostId(), booting.id(), VmState.FAILED); // it crashed while it booted
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class,
                waiting.get(5, java.util.concurrent.TimeUnit.SECONDS), "answered at once, not at the probe's limit");
        assertTrue(later.detail().contains("its guest failed on host " + booting.hostId()
                + " before its services answered (hypervisor: changed outside the farm)"), later.detail());
        VmRecord failed = farm.table.vm(booting.id()).orElseThrow();
        assertEquals(VmState.FAILED, failed.state());
        assertTrue(failed.detail().startsWith("creation failed: its guest failed"), failed.detail());
        Farm.await("the failed guest to be removed",
                () -> !farm.hypervisor.guestsByHost.get(booting.hostId()).containsKey(booting.id()));
        // libvirt reports the removal (undefined) after the row says why it failed: the reason stays
        farm.hypervisor.listeners.get(booting.hostId()).onEvent(new org.servicefarm.api.driver.VmEvent(
                booting.hostId(), booting.id(), VmState.DESTROYED, "undefined (removed)"));
        assertEquals(failed, farm.table.vm(booting.id()).orElseThrow(), "still FAILED, and why");

        farm.hypervisor.answering = true;
        Outcome.Granted next = grant("wiki");
        assertEquals(Activation.CREATED, next.activation(), "the next request builds anew");
        assertNotEquals(booting.id(), next.vmId());
    }

    private static FarmServiceManager.Config config(Map<String, Object> values) {
        return Farm.convert(values, FarmServiceManager.Config.class);
    }

    @Test
    void aRefusedConfigurationChangesNothingAndSaysWhatIsWrong(@TempDir Path data) {
        TestComponentContext framework = new TestComponentContext(data);
        Map<String, Object> capOfOne = Map.of("vm.cap", 1);
        farm.manager.modified(config(capOfOne), framework.with(capOfOne));
        String wiki = grant("wiki").vmId();
        // refused whole: neither the cap of 5 nor anything else of it is taken
        Map<String, Object> badTier = Map.of("vm.cap", 5, "evict.tier", "NOWHERE");
        farm.manager.modified(config(badTier), framework.with(badTier));
        assertEquals("evict.tier must be SAVED, COMPRESSED or DELTA, not 'NOWHERE'",
                framework.refusals.get(0).reason());
        Map<String, Object> badCap = Map.of("vm.cap", -1);
        farm.manager.modified(config(badCap), framework.with(badCap));
        assertEquals(List.of("vm.cap must be positive, not -1"),
                framework.refusals.stream().map(RefusedConfiguration::reason).toList(), "the last refusal stands");
        grant("blog");
        assertEquals(VmState.ARCHIVED, farm.table.vm(wiki).orElseThrow().state(), "the cap of 1 is in force");

        assertEquals("vm.cap must be positive, not -1", assertThrows(IllegalArgumentException.class,
                () -> Settings.from(config(Map.of("vm.cap", -1)))).getMessage());
        assertEquals("vm.requestsPerMinute must be positive, not 0",
                assertThrows(IllegalArgumentException.class,
                        () -> Settings.from(config(Map.of("vm.requestsPerMinute", 0)))).getMessage());
        for (int attempts : new int[] {0, 11}) {
            assertEquals("create.attempts must be 1 to 10: " + attempts, assertThrows(IllegalArgumentException.class,
                    () -> Settings.from(config(Map.of("create.attempts", attempts)))).getMessage());
            assertEquals("wake.attempts must be 1 to 10: " + attempts, assertThrows(IllegalArgumentException.class,
                    () -> Settings.from(config(Map.of("wake.attempts", attempts)))).getMessage());
        }
        assertEquals("tier 'gold:x:0.5' must be name:maxReplicas:loadThreshold, a whole number and a number",
                assertThrows(IllegalArgumentException.class,
                        () -> Settings.from(config(Map.of("tiers", "gold:x:0.5", "defaultTier", "gold")))).getMessage());
    }

    @Test
    void aWokenVmThatDoesNotAnswerIsDestroyedNotPutBack() {
        Outcome.Granted first = grant("wiki"); // with the default probe: a loaded machine may take long to answer
        farm.manager.modified(Farm.convert(Map.of("estimate.create.ms", 1000, "probe.limit.ms", 300,
                "probe.interval.ms", 20, "probe.timeout.ms", 100), FarmServiceManager.Config.class), null);
        farm.hypervisor.external(first.hostId(), first.vmId(), VmState.SLEEPING);
        farm.hypervisor.answering = false;

        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, request("wiki", LONG));
        assertTrue(later.detail().contains("did not answer"), later.detail());
        VmRecord vm = farm.table.vm(first.vmId()).orElseThrow();
        assertEquals(VmState.FAILED, vm.state());
        assertTrue(vm.detail().startsWith("resuming " + first.vmId()), vm.detail());
        assertTrue(farm.hypervisor.guestsByHost.get(first.hostId()).isEmpty());
    }

    @Test
    void waitingForServicesToAnswerHoldsNoWorker() {
        farm.close();
        farm = new Farm(Map.of("workers", 1));
        farm.hypervisor.answering = false;
        request("wiki", Duration.ZERO);
        request("blog", Duration.ZERO);
        Farm.await("both VMs started by the one worker", () -> farm.vms().size() == 2
                && farm.vms().stream().allMatch(vm -> vm.state() == VmState.STARTING && vm.endpoint() != null));

        farm.hypervisor.answering = true;
        Farm.await("both to answer", () -> farm.vms().stream().allMatch(vm -> vm.state() == VmState.ACTIVE));
    }

    @Test
    void afterARestartReconcileAdoptsTheGuestsItsRecordsAccountFor() {
        Outcome.Granted wiki = grant("wiki");
        Outcome.Granted blog = grant("blog");
        farm.hypervisor.external(blog.hostId(), blog.vmId(), VmState.SLEEPING);
        VmRecord before = farm.table.vm(wiki.vmId()).orElseThrow();
        farm.stop();

        farm = new Farm(Map.of(), farm.hypervisor); // an empty state table; the hosts connect and reconcile
        VmRecord adopted = farm.table.vm(wiki.vmId()).orElseThrow();
        assertEquals(VmState.ACTIVE, adopted.state());
        assertEquals(before.hostId(), adopted.hostId());
        assertEquals(before.offering(), adopted.offering());
        assertEquals(before.imageId(), adopted.imageId());
        assertEquals(before.resources(), adopted.resources());
        assertEquals(before.endpoints(), adopted.endpoints());
        assertEquals(before.createdAt(), adopted.createdAt());
        assertTrue(adopted.detail().startsWith("adopted from host " + before.hostId()), adopted.detail());
        assertEquals(VmState.SLEEPING, farm.table.vm(blog.vmId()).orElseThrow().state());

        int defines = farm.hypervisor.defines.get();
        Outcome.Granted again = grant("wiki");
        assertEquals(wiki.vmId(), again.vmId(), "the adopted VM serves");
        assertEquals(Activation.ACTIVE, again.activation());
        assertEquals(Activation.RESUMED, grant("blog").activation(), "an adopted sleeping VM is woken");
        assertEquals(defines, farm.hypervisor.defines.get(), "nothing was built again");
        assertEquals(2, farm.hypervisor.guestsByHost.values().stream().mapToInt(Map::size).sum());
    }

    @Test
    void anAdoptedVmWhoseEndpointsTheHostDoesNotKnowIsNeverGranted() {
        Outcome.Granted first = grant("wiki");
        farm.stop();
        GuestMetadata recorded = farm.hypervisor.recorded.get(first.vmId());
        farm.hypervisor.recorded.put(first.vmId(), new GuestMetadata(recorded.vmId(), recorded.offering(),
                recorded.imageId(), recorded.resources(), Map.of(), recorded.createdAt()));
        farm = new Farm(Map.of(), farm.hypervisor);
        assertEquals(VmState.ACTIVE, farm.table.vm(first.vmId()).orElseThrow().state(), "adopted as it is");

        Outcome.Granted next = grant("wiki");
        assertNotEquals(first.vmId(), next.vmId(), "a grant needs an endpoint: another VM serves");
        assertEquals(Activation.CREATED, next.activation());
    }

    @Test
    void reconcileRemovesOnlyGuestsItCannotAccountFor() throws Exception {
        Outcome.Granted kept = grant("wiki");
        Outcome.Granted failed = grant("blog");
        Outcome.Granted destroyed = grant("shop");
        String host = kept.hostId();
        farm.hypervisor.guestsByHost.get(failed.hostId()).put(failed.vmId(), VmState.FAILED);
        farm.stop();
        farm = new Farm(Map.of(), farm.hypervisor);
        // a guest the table has as destroyed (its destroy failed at the hypervisor), and one without a farm record
        // (the restarted core adopted it on connect: its row is moved to DESTROYED as a failed destroy would leave it)
        farm.table.moveFromAny(destroyed.vmId(), VmState.DESTROYED, "evicted");
        farm.hypervisor.guestsByHost.get(host).put("sf-unrecorded", VmState.ACTIVE);
        for (String each : List.of(host, failed.hostId(), destroyed.hostId())) {
            farm.hosts.reconcile(each, farm.hosts.connection(each));
        }

        assertEquals(VmState.ACTIVE, farm.table.vm(kept.vmId()).orElseThrow().state(), "accounted for: kept");
        assertTrue(farm.hypervisor.guestsByHost.get(host).containsKey(kept.vmId()));
        assertTrue(farm.table.vm("sf-unrecorded").isEmpty(), "nothing accounts for it: not adopted");
        assertFalse(farm.hypervisor.guestsByHost.get(host).containsKey("sf-unrecorded"), "and removed");
        assertFalse(farm.hypervisor.guestsByHost.get(destroyed.hostId()).containsKey(destroyed.vmId()),
                "the table says it was destroyed: its destroy is finished");
        VmRecord failedRow = farm.table.vm(failed.vmId()).orElseThrow();
        assertEquals(VmState.FAILED, failedRow.state(), "a failed guest is adopted as what it is");
        assertFalse(farm.hypervisor.guestsByHost.get(failed.hostId()).containsKey(failed.vmId()),
                "and removed: it cannot serve");
    }

    @Test
    void reconcileOnConnectDropsVanishedGuestsAndDestroysOrphans() throws Exception {
        Outcome.Granted granted = grant("wiki");
        farm.hypervisor.guestsByHost.get(granted.hostId()).remove(granted.vmId());
        farm.hypervisor.guestsByHost.get(granted.hostId()).put("sf-orphan", VmState.ACTIVE);
        farm.hosts.reconcile(granted.hostId(), farm.hosts.connection(granted.hostId()));
        assertEquals(VmState.DESTROYED, farm.table.vm(granted.vmId()).orElseThrow().state());
        assertTrue(farm.hypervisor.guestsByHost.get(granted.hostId()).isEmpty());
    }
}
