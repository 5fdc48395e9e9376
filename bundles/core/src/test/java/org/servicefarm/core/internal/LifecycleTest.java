package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.eviction.EvictionPolicy;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.eviction.greedydual.internal.GreedyDualEviction;
import org.servicefarm.eviction.lfu.internal.LfuEviction;
import org.servicefarm.eviction.lru.internal.LruEviction;

/** The state machine, the lifecycle's timers on a virtual clock, wake, the VM cap, reconcile, relocation and drain. */
class LifecycleTest {

    private static final Duration LONG = Duration.ofSeconds(60);
    private Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    private Outcome.Granted grant(String service) {
        return assertInstanceOf(Outcome.Granted.class,
                farm.manager.request(ServiceRequest.of(service).withDeadline(LONG)));
    }

    private VmRecord row(String id) {
        return farm.table.vm(id).orElseThrow();
    }

    private VmState guest(VmRecord vm) {
        return farm.hypervisor.guestsByHost.get(vm.hostId()).get(vm.id());
    }

    private static Map<String, Object> timers(Object... keysAndValues) {
        Map<String, Object> config = new HashMap<>(Map.of("inDemand.requestsPerMinute", 0.0));
        for (int i = 0; i < keysAndValues.length; i += 2) {
            config.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return config;
    }

    @Test
    void illegalMovesAreRefusedAndStaleOnesChangeNothing() {
        String id = grant("wiki").vmId();
        assertThrows(ConflictException.class, () -> farm.table.move(id, VmState.ACTIVE, VmState.RESTORING, "no"));
        assertThrows(ConflictException.class, () -> farm.table.move(id, VmState.CREATING, VmState.SLEEPING, "no"));
        assertTrue(farm.table.move(id, VmState.SLEEPING, VmState.RESUMING, "stale").isEmpty(),
                "it is not SLEEPING: the compare-and-set changes nothing");
        assertEquals(VmState.ACTIVE, row(id).state());

        ConflictException wake = assertThrows(ConflictException.class, () -> farm.manager.wake(id));
        assertTrue(wake.getMessage().contains("ACTIVE"), wake.getMessage());
        assertEquals(VmState.DESTROYED, farm.manager.destroy(id).state());
        assertThrows(ConflictException.class, () -> farm.table.move(id, VmState.DESTROYED, VmState.ACTIVE, "no"));
        assertThrows(ConflictException.class, () -> farm.manager.sleep(id));
        assertThrows(NotFoundException.class, () -> farm.manager.sleep("sf-nope"));
        assertEquals(0, farm.table.capped());
    }

    @Test
    void onHostsThatKeepSavedArchivesOnlyATierTheyLackIsTheNearestTheyKeep() {
        farm.close();
        farm = new Farm(Map.of(), new FakeHypervisor(), Map.of("savedOnly", "true")); // as the qemu driver's hosts
        VmRecord vm = row(grant("wiki").vmId());
        ConflictException refused = assertThrows(ConflictException.class,
                () -> farm.manager.archive(vm.id(), ArchiveTier.COMPRESSED));
        assertEquals("host " + vm.hostId() + " keeps archives in tier SAVED only, not COMPRESSED", refused.getMessage(),
                "the operator asked for that tier: told why not");
        assertEquals(VmState.ACTIVE, row(vm.id()).state());

        VmRecord archived = farm.manager.operations.archiveAsKept(vm, ArchiveTier.COMPRESSED, "lifecycle: idle")
                .orElseThrow();
        assertEquals(ArchiveTier.SAVED, archived.archive().tier(), "a policy's tier for every host: the nearest kept");
        assertTrue(archived.detail().startsWith("lifecycle: idle; SAVED: host " + vm.hostId()
                + " keeps no COMPRESSED archives (SAVED, "), archived.detail());
        assertTrue(farm.manager.operations.archiveAsKept(archived, ArchiveTier.DELTA, "lifecycle: old").isEmpty(),
                "archived already: it stays as it is, no failure");
        assertEquals(ArchiveTier.SAVED, row(vm.id()).archive().tier());
    }

    @Test
    void timersSleepArchiveRetierAndDestroyEachWithItsReason() {
        Lifecycle lifecycle = farm.lifecycle(timers("sleep.after.s", 60L, "archive.after.s", 120L,
                "compress.after.s", 300L, "delta.after.s", 600L, "destroy.after.s", 1000L));
        String id = grant("wiki").vmId();

        farm.clock.advance(Duration.ofSeconds(59));
        assertEquals(0, lifecycle.sweep());
        assertEquals(VmState.ACTIVE, row(id).state());
        farm.clock.advance(Duration.ofSeconds(1));
        assertEquals(1, lifecycle.sweep());
        assertEquals(VmState.SLEEPING, row(id).state());
        assertEquals(VmState.SLEEPING, guest(row(id)), "suspended at the hypervisor");
        assertEquals("lifecycle: idle for 1 min (T_sleep 1 min)", row(id).detail());

        farm.clock.advance(Duration.ofSeconds(119));
        lifecycle.sweep();
        assertEquals(VmState.SLEEPING, row(id).state());
        farm.clock.advance(Duration.ofSeconds(1));
        lifecycle.sweep();
        Instant archivedAt = farm.clock.instant();
        assertEquals(VmState.ARCHIVED, row(id).state());
        assertEquals(ArchiveTier.SAVED, row(id).archive().tier());
        assertEquals(FakeHypervisor.SAVED_BYTES, row(id).archive().bytes());
        assertTrue(row(id).detail().startsWith("lifecycle: asleep for 2 min (T_archive 2 min)"), row(id).detail());

        farm.clock.advance(Duration.ofSeconds(300));
        lifecycle.sweep();
        assertEquals(ArchiveTier.COMPRESSED, row(id).archive().tier());
        assertEquals(FakeHypervisor.SAVED_BYTES / 3, row(id).archive().bytes());
        assertEquals(archivedAt, row(id).inStateSince(), "a new tier is not a new archive");
        farm.clock.advance(Duration.ofSeconds(300));
        lifecycle.sweep();
        assertEquals(ArchiveTier.DELTA, row(id).archive().tier());
        assertTrue(row(id).detail().contains("T_delta 10 min"), row(id).detail());

        farm.clock.advance(Duration.ofSeconds(399));
        lifecycle.sweep();
        assertEquals(VmState.ARCHIVED, row(id).state());
        farm.clock.advance(Duration.ofSeconds(1));
        lifecycle.sweep();
        assertEquals(VmState.DESTROYED, row(id).state());
        assertTrue(row(id).detail().contains("T_destroy"), row(id).detail());
        assertFalse(farm.hypervisor.guestsByHost.get(row(id).hostId()).containsKey(id), "removed from its host");
    }

    @Test
    void aVmWhoseHostCannotBeReachedIsLeftAsItIsUntilItsHostIsBack() throws Exception {
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        farm.hosts.nanoTime = nanos::get;
        Lifecycle lifecycle = farm.lifecycle(timers("sleep.after.s", 60L));
        VmRecord vm = row(grant("wiki").vmId());
        farm.hypervisor.unreachable.add(vm.hostId());
        farm.hypervisor.lostConnections.add(vm.hostId());
        farm.hosts.watchConnections(nanos.get()).get();

        farm.clock.advance(Duration.ofSeconds(61));
        String detail = row(vm.id()).detail();
        int probes = farm.hypervisor.serviceGets.get();
        assertEquals(0, lifecycle.sweep());
        assertEquals(VmState.ACTIVE, row(vm.id()).state());
        assertEquals(detail, row(vm.id()).detail(), "no move tried (a failed sleep says so in the row)");
        assertEquals(probes, farm.hypervisor.serviceGets.get(), "nor its endpoint probed");
        assertEquals(VmState.ACTIVE, guest(vm));

        farm.hypervisor.unreachable.remove(vm.hostId());
        nanos.addAndGet(HostRegistry.FIRST_RETRY.toNanos());
        farm.hosts.watchConnections(nanos.get()).get();
        assertEquals(1, lifecycle.sweep(), "its host is back");
        assertEquals(VmState.SLEEPING, row(vm.id()).state());
    }

    @Test
    void theKeepAliveViewShowsThePolicyInForceByNameAndItsOutlookByOffering() {
        Lifecycle lifecycle = farm.lifecycle(timers());
        assertEquals(Optional.of("fixed"), lifecycle.policy());
        assertEquals(List.of(), lifecycle.outlook(), "the fixed timers keep no plan per combination");
        Offering wiki = row(grant("wiki").vmId()).offering();
        Offering blog = row(grant("blog").vmId()).offering();
        KeepAlivePolicy planning = new KeepAlivePolicy() {
            @Override
            public Optional<Due> due(VmRecord vm, Instant now, double rate) {
                return Optional.empty();
            }

            @Override
            public List<KeepAliveOutlook> outlook(Instant now) {
                return List.of(new KeepAliveOutlook(wiki, now, 1, null, null, "nothing planned"),
                        new KeepAliveOutlook(blog, now, 2, now, now.plusSeconds(60), "wanted now"));
            }
        };
        lifecycle.bindPolicy(planning, Map.of(KeepAlivePolicy.NAME, "planning"));
        assertEquals(Optional.of("planning"), lifecycle.policy(), "the greedy reference's newest");
        List<KeepAliveOutlook> outlook = lifecycle.outlook();
        assertEquals(List.of("blog", "wiki"), outlook.stream().map(o -> o.offering().service()).toList(),
                "by offering");
        assertEquals(farm.clock.instant(), outlook.get(0).lastRequest(), "asked on the lifecycle's clock");
        lifecycle.unbindPolicy(planning);
        assertEquals(Optional.empty(), lifecycle.policy());
        assertEquals(List.of(), lifecycle.outlook());
    }

    @Test
    void theLeadersPolicyIsToldOfTheRequestsOtherAppliancesWereAskedOnce() {
        Lifecycle lifecycle = farm.lifecycle(timers());
        org.servicefarm.api.Offering wiki = farm.table.vm(grant("wiki").vmId()).orElseThrow().offering();
        java.util.List<org.servicefarm.api.Offering> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        lifecycle.bindPolicy(new org.servicefarm.api.keepalive.KeepAlivePolicy() {
            @Override
            public void requested(org.servicefarm.api.Offering offering, java.time.Instant at) {
                told.add(offering);
            }

            @Override
            public java.util.Optional<Due> due(VmRecord vm, java.time.Instant now, double rate) {
                return java.util.Optional.empty();
            }
        }, java.util.Map.of("keepalive.name", "recording"));
        long minute = farm.clock.instant().toEpochMilli() / 60_000;
        java.util.List<org.servicefarm.api.store.DemandCounts.Asked> others = new java.util.ArrayList<>(
                java.util.List.of(new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute, 3)));
        lifecycle.demand = new org.servicefarm.api.store.DemandCounts() {
            @Override
            public void add(org.servicefarm.api.Offering offering, long at) {
            }

            @Override
            public java.util.List<Asked> others(long fromMinute) {
                return java.util.List.copyOf(others);
            }

            @Override
            public java.util.List<Asked> history(long fromMinute) {
                return java.util.List.of();
            }

            @Override
            public long othersAsked(org.servicefarm.api.Offering offering, long fromMinute) {
                return 0;
            }
        };
        lifecycle.sweep();
        assertEquals(3, told.size());
        lifecycle.sweep();
        assertEquals(3, told.size(), "told once");
        others.set(0, new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute, 5));
        lifecycle.sweep();
        assertEquals(5, told.size(), "the two asked since");
    }

    @Test
    void theKeepAliveDecisionsCarriedOutAreToldWithThePolicysName() {
        Lifecycle lifecycle = farm.lifecycle(timers("sleep.after.s", 60L, "archive.after.s", 120L,
                "compress.after.s", 300L));
        List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        lifecycle.events.addListener(new org.servicefarm.api.FarmListener() {
            @Override
            public void keepAliveDecided(String policy, KeepAlive decision, ArchiveTier tier) {
                told.add(policy + " " + decision + (tier == null ? "" : " " + tier));
            }
        });
        grant("wiki");

        lifecycle.sweep();
        farm.clock.advance(Duration.ofSeconds(60));
        lifecycle.sweep();
        farm.clock.advance(Duration.ofSeconds(120));
        lifecycle.sweep();
        farm.clock.advance(Duration.ofSeconds(300));
        lifecycle.sweep();
        assertEquals(List.of("fixed KEEP", "fixed SLEEP", "fixed ARCHIVE SAVED", "fixed ARCHIVE COMPRESSED"), told);
    }

    @Test
    void anApplicationsOwnTimersOverrideTheDefaults() {
        Lifecycle lifecycle = farm.lifecycle(timers("sleep.after.s", 600L, "applications",
                new String[] {"wiki:sleep=10;archive=0"}));
        String wiki = grant("wiki").vmId();
        String blog = grant("blog").vmId();
        farm.clock.advance(Duration.ofSeconds(10));
        lifecycle.sweep();
        assertEquals(VmState.SLEEPING, row(wiki).state());
        assertEquals(VmState.ACTIVE, row(blog).state());
        farm.clock.advance(Duration.ofDays(1));
        lifecycle.sweep(); // blog sleeps (one step a sweep)
        farm.clock.advance(Duration.ofDays(1));
        lifecycle.sweep();
        assertEquals(VmState.SLEEPING, row(wiki).state(), "its archive timer is off");
        assertEquals(VmState.ARCHIVED, row(blog).state(), "the defaults' archive timer fired");
    }

    @Test
    void aVmWhoseOfferingIsInDemandStaysActiveThoughItselfIdle() {
        Lifecycle lifecycle = farm.lifecycle(Map.of("sleep.after.s", 60L, "inDemand.requestsPerMinute", 2.0));
        String id = grant("wiki").vmId();
        for (int i = 0; i < 24; i++) {
            grant("wiki"); // 25 requests in the popularity window of 10 min: 2.5 a minute
        }
        farm.clock.advance(Duration.ofSeconds(120));
        lifecycle.sweep();
        assertEquals(VmState.ACTIVE, row(id).state(), "in demand: kept ACTIVE though idle for 2 min");
        farm.clock.advance(Duration.ofMinutes(10));
        lifecycle.sweep();
        assertEquals(VmState.SLEEPING, row(id).state(), "no longer asked for: it sleeps");
    }

    @Test
    void aRequestResumesASleepingVmAndRestoresAnArchivedOneFromEveryTier() {
        String id = grant("wiki").vmId();
        assertEquals(VmState.SLEEPING, farm.manager.sleep(id).state());
        Outcome.Granted resumed = grant("wiki");
        assertEquals(Activation.RESUMED, resumed.activation());
        assertEquals(id, resumed.vmId());
        for (ArchiveTier tier : ArchiveTier.values()) {
            VmRecord archived = farm.manager.archive(id, tier);
            assertEquals(VmState.ARCHIVED, archived.state());
            assertEquals(tier, archived.archive().tier());
            assertEquals(0, farm.host(archived.hostId()).orElseThrow().used().vms(), "an archive holds no room");
            Outcome.Granted restored = grant("wiki");
            assertEquals(Activation.RESTORED, restored.activation(), tier.name());
            assertEquals(id, restored.vmId());
            assertNull(row(id).archive(), "restored: no archive left");
            assertEquals(1, farm.host(restored.hostId()).orElseThrow().used().vms());
        }
        assertEquals(3, farm.hypervisor.restores.get());
        // the operator's wake, from sleep
        farm.manager.sleep(id);
        assertEquals(VmState.ACTIVE, farm.manager.wake(id).state());
    }

    @Test
    void aRequestWhoseVmCannotBeWokenIsServedByANewOneAndTheVmIsGivenUpAtItsSecondRefusalInARow() {
        VmRecord broken = row(grant("wiki").vmId());
        farm.manager.sleep(broken.id());
        farm.hypervisor.wakeFailing.add(broken.id());

        Outcome.Granted first = grant("wiki");
        assertEquals(Activation.CREATED, first.activation(), "a new VM serves the request whose resume failed");
        assertNotEquals(broken.id(), first.vmId());
        assertEquals(VmState.SLEEPING, row(broken.id()).state(), "refused once: it rests, to be tried again");
        assertTrue(row(broken.id()).detail().contains("cannot be read back"), row(broken.id()).detail());
        assertEquals(VmState.SLEEPING, guest(broken));

        // the new VM goes; the next request tries the sleeping one again: its second refusal in a row
        farm.manager.destroy(first.vmId());
        Outcome.Granted second = grant("wiki");
        assertEquals(Activation.CREATED, second.activation());
        VmRecord given = row(broken.id());
        assertEquals(VmState.FAILED, given.state());
        assertTrue(given.detail().contains("2 wakes in a row failed on a host that answers: the VM is given up"),
                given.detail());
        assertFalse(farm.hypervisor.guestsByHost.get(broken.hostId()).containsKey(broken.id()), "removed from its host");
        assertEquals(VmState.ACTIVE, row(second.vmId()).state());
    }

    @Test
    void theOperatorsFailedWakesCountOnlyWhileTheVmsHostAnswersAndASuccessStartsTheCountAgain() {
        VmRecord vm = row(grant("wiki").vmId());
        farm.manager.archive(vm.id(), ArchiveTier.COMPRESSED);
        farm.hypervisor.wakeFailing.add(vm.id());
        // its host's connection ended meanwhile: the refusals are its host's, and say nothing of the VM
        farm.hypervisor.lostConnections.add(vm.hostId());
        for (int i = 0; i < 3; i++) {
            ConflictException refused = assertThrows(ConflictException.class, () -> farm.manager.wake(vm.id()));
            assertTrue(refused.getMessage().startsWith("waking VM " + vm.id() + " failed: restoring " + vm.id()
                    + " on " + vm.hostId() + " failed: host " + vm.hostId() + ": the saved state of " + vm.id()
                    + " cannot be read back"), refused.getMessage());
            assertEquals(VmState.ARCHIVED, row(vm.id()).state());
        }
        farm.hypervisor.lostConnections.remove(vm.hostId());

        assertThrows(ConflictException.class, () -> farm.manager.wake(vm.id()));
        assertEquals(VmState.ARCHIVED, row(vm.id()).state(), "one refusal while its host answers");
        assertEquals(ArchiveTier.COMPRESSED, row(vm.id()).archive().tier(), "its archive as it was");
        farm.hypervisor.wakeFailing.remove(vm.id());
        assertEquals(VmState.ACTIVE, farm.manager.wake(vm.id()).state());

        farm.manager.archive(vm.id(), ArchiveTier.SAVED);
        farm.hypervisor.wakeFailing.add(vm.id());
        assertThrows(ConflictException.class, () -> farm.manager.wake(vm.id()));
        assertEquals(VmState.ARCHIVED, row(vm.id()).state(), "the success started the count again");
        ConflictException last = assertThrows(ConflictException.class, () -> farm.manager.wake(vm.id()));
        assertTrue(last.getMessage().endsWith("2 wakes in a row failed on a host that answers: the VM is given up"),
                last.getMessage());
        assertEquals(VmState.FAILED, row(vm.id()).state());
        assertEquals(0, farm.host(vm.hostId()).orElseThrow().used().vms(), "no room held for it");
    }

    @Test
    void aVmStoppedWhileItAnsweredIsWokenWithoutAProbeAnOtherOneIsProbed() {
        String id = grant("wiki").vmId();
        int before = farm.hypervisor.serviceGets.get();
        farm.manager.sleep(id);
        assertEquals(before + 1, farm.hypervisor.serviceGets.get(), "probed once before it was suspended");
        assertEquals(Activation.RESUMED, grant("wiki").activation());
        assertEquals(before + 1, farm.hypervisor.serviceGets.get(), "resumed as it was: answering, not probed");

        // suspended while its service did not answer: its resume is probed, and it serves once it answers
        farm.hypervisor.answering = false;
        farm.manager.sleep(id);
        assertEquals(VmState.SLEEPING, row(id).state());
        farm.hypervisor.answering = true;
        int asleep = farm.hypervisor.serviceGets.get();
        assertEquals(Activation.RESUMED, grant("wiki").activation());
        assertTrue(farm.hypervisor.serviceGets.get() > asleep, "probed when resumed");

        // saved answering (asleep, then archived in two tiers): restored as it was, not probed
        farm.manager.sleep(id);
        farm.manager.archive(id, ArchiveTier.SAVED);
        farm.manager.archive(id, ArchiveTier.COMPRESSED);
        int archived = farm.hypervisor.serviceGets.get();
        assertEquals(Activation.RESTORED, grant("wiki").activation());
        assertEquals(archived, farm.hypervisor.serviceGets.get(), "restored as it was saved: answering");

        // archived straight from ACTIVE while not answering: its restore is probed
        farm.hypervisor.answering = false;
        farm.manager.archive(id, ArchiveTier.SAVED);
        farm.hypervisor.answering = true;
        int silent = farm.hypervisor.serviceGets.get();
        assertEquals(Activation.RESTORED, grant("wiki").activation());
        assertTrue(farm.hypervisor.serviceGets.get() > silent, "probed when restored");
    }

    @Test
    void theAsynchronousWakeAnswersWhenTheVmServesAndRefusesAtOnce() throws Exception {
        String id = grant("wiki").vmId();
        assertThrows(ConflictException.class, () -> farm.manager.wakeAsync(id), "ACTIVE: refused before any stage");
        assertThrows(NotFoundException.class, () -> farm.manager.wakeAsync("sf-nope"));
        farm.manager.archive(id, ArchiveTier.COMPRESSED);
        VmRecord woken = farm.manager.wakeAsync(id).toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(VmState.ACTIVE, woken.state(), "the stage completes once it serves");
        assertEquals(id, woken.id());
        assertNull(woken.archive());
    }

    @Test
    void fiftyOfferingsInTurnAreAllGrantedWhileIdleVmsHoldEveryHost() {
        List<Offering> offerings = farm.directory.offerings(1000).stream().limit(50).toList();
        assertEquals(50, offerings.size());
        int granted = 0;
        for (Offering offering : offerings) {
            farm.clock.advance(Duration.ofSeconds(1));
            Outcome outcome = farm.manager.request(offering.toRequest().withDeadline(LONG));
            if (outcome instanceof Outcome.Granted) {
                granted++;
            } else if (!(outcome instanceof Outcome.Never)) {
                throw new AssertionError(offering.key() + ": " + outcome);
            }
        }
        assertTrue(granted > 14, "more than the 14 VMs the hosts hold at once: " + granted);
        long archived = farm.vms().stream().filter(vm -> vm.state() == VmState.ARCHIVED).count();
        assertEquals(granted - farm.table.capped(), archived, "every VM not in memory was archived, none lost");
        for (var host : farm.hosts.statuses()) {
            assertTrue(host.used().vms() <= host.host().capacity().vms(), host.name());
        }
    }

    @Test
    void aVmWokenButNotYetGrantedIsNotTheFirstToGoUnderTheCap() {
        farm.close();
        farm = new Farm(Map.of("vm.cap", 2));
        farm.eviction.bindVmPolicy(new LruEviction());
        String wiki = grant("wiki").vmId();
        farm.clock.advance(Duration.ofSeconds(10));
        String blog = grant("blog").vmId();
        farm.clock.advance(Duration.ofSeconds(10));
        farm.manager.archive(wiki, ArchiveTier.SAVED);
        farm.clock.advance(Duration.ofSeconds(10));
        // woken (for a request answered RETRY_LATER, say): back in memory, not granted since its last use
        farm.manager.wake(wiki);
        farm.clock.advance(Duration.ofSeconds(10));

        grant("shop");
        assertEquals(VmState.ARCHIVED, row(blog).state(), "blog was last wanted longest ago");
        assertEquals(VmState.ACTIVE, row(wiki).state(), "wiki was woken after blog's last grant");
    }

    @Test
    void aVmMadeReadyForARequestIsHeldForItsRetryAndTheNewcomerWaits() {
        farm.close();
        farm = new Farm(Map.of("vm.cap", 1, "evict.hold.s", 10));
        String wiki = grant("wiki").vmId();
        farm.manager.archive(wiki, ArchiveTier.SAVED);
        farm.clock.advance(Duration.ofMinutes(1));
        farm.manager.wake(wiki); // for a request answered RETRY_LATER, say: its client comes back for it

        farm.clock.advance(Duration.ofSeconds(9));
        Outcome.RetryLater waits = assertInstanceOf(Outcome.RetryLater.class,
                farm.manager.request(ServiceRequest.of("blog").withDeadline(LONG)));
        assertTrue(waits.detail().contains("1 made ready for requests whose retries are due"), waits.detail());
        assertEquals(VmState.ACTIVE, row(wiki).state());

        farm.clock.advance(Duration.ofSeconds(1));
        assertEquals(Activation.CREATED, grant("blog").activation(), "past the hold, wiki may go");
        assertEquals(VmState.ARCHIVED, row(wiki).state());
    }

    @Test
    void theVmCapEvictsByEachEvictionBundle() {
        Map<EvictionPolicy, String> expected = new java.util.LinkedHashMap<>();
        expected.put(new LruEviction(), "wiki"); // used longest ago
        expected.put(new LfuEviction(), "blog"); // used least often
        expected.put(new GreedyDualEviction(), "blog"); // least grants times the cost to bring back
        for (Map.Entry<EvictionPolicy, String> policy : expected.entrySet()) {
            farm.close();
            farm = new Farm(Map.of("vm.cap", 2));
            farm.eviction.bindVmPolicy(policy.getKey());
            Map<String, String> ids = new HashMap<>();
            for (int i = 0; i < 3; i++) {
                ids.put("wiki", grant("wiki").vmId());
            }
            farm.clock.advance(Duration.ofSeconds(10));
            ids.put("blog", grant("blog").vmId());
            farm.clock.advance(Duration.ofSeconds(10));
            grant("shop");
            String victim = policy.getValue();
            String kept = victim.equals("wiki") ? "blog" : "wiki";
            String name = policy.getKey().getClass().getSimpleName();
            assertEquals(VmState.ARCHIVED, row(ids.get(victim)).state(), name + " evicts " + victim);
            assertEquals(VmState.ACTIVE, row(ids.get(kept)).state(), name + " keeps " + kept);
        }
    }

    @Test
    void reconcileRepairsDriftAndLogsEachRepair() {
        VmRecord stopped = row(grant("wiki").vmId());
        VmRecord vanished = row(grant("blog").vmId());
        // behind the farm's back, with no event: one guest stops, one disappears, a stranger appears
        farm.hypervisor.guestsByHost.get(stopped.hostId()).put(stopped.id(), VmState.FAILED);
        farm.hypervisor.guestsByHost.get(vanished.hostId()).remove(vanished.id());
        farm.hypervisor.guestsByHost.get("large").put("sf-stranger", VmState.ACTIVE);
        farm.hosts.reconcileAll();
        Farm.await("reconciled", () -> row(stopped.id()).state() == VmState.FAILED
                && row(vanished.id()).state() == VmState.DESTROYED
                && !farm.hypervisor.guestsByHost.get("large").containsKey("sf-stranger")
                && !farm.hypervisor.guestsByHost.get(stopped.hostId()).containsKey(stopped.id())
                // the cap count follows a row's move just after the store made it, on the reconcile's thread
                && farm.table.capped() == 0);
        assertTrue(row(stopped.id()).detail().contains("stopped behind the farm's back"), row(stopped.id()).detail());
        assertTrue(row(vanished.id()).detail().contains("vanished"), row(vanished.id()).detail());
    }

    @Test
    void aMoveThatEndsWhileItsHostIsListedIsNotUndoneByTheReconcile() throws Exception {
        VmRecord vm = row(grant("wiki").vmId());
        // the host lists the guest ACTIVE; before the reconcile compares, the manager archives it
        farm.hypervisor.afterListing = () -> farm.manager.archive(vm.id(), ArchiveTier.SAVED);
        farm.hosts.reconcile(vm.hostId(), farm.hosts.connection(vm.hostId()));
        farm.hypervisor.afterListing = () -> { };
        assertEquals(VmState.ARCHIVED, row(vm.id()).state(), row(vm.id()).detail());
        assertEquals(VmState.ARCHIVED, guest(vm));

        // archived before the host lists it, restored after, back in the state the reconcile read it in: the
        // host's answer is older than the row, which is left alone
        farm.hypervisor.beforeListing = () -> {
            farm.clock.advance(Duration.ofSeconds(1));
            farm.manager.archive(vm.id(), ArchiveTier.SAVED);
        };
        farm.hypervisor.afterListing = () -> {
            farm.clock.advance(Duration.ofSeconds(1));
            farm.manager.wake(vm.id());
        };
        VmRecord restored = row(farm.manager.wake(vm.id()).id());
        assertEquals(VmState.ACTIVE, restored.state());
        farm.hosts.reconcile(vm.hostId(), farm.hosts.connection(vm.hostId()));
        farm.hypervisor.beforeListing = () -> { };
        farm.hypervisor.afterListing = () -> { };
        assertEquals(VmState.ACTIVE, row(vm.id()).state(), row(vm.id()).detail());
        assertEquals(VmState.ACTIVE, guest(vm));
    }

    @Test
    void aVmMovesToAnotherHostAndIsRestoredThere() {
        VmRecord vm = row(grant("wiki").vmId());
        String other = vm.hostId().equals("large") ? "small" : "large";
        VmRecord moved = farm.manager.migrate(vm.id(), other);
        assertEquals(VmState.ARCHIVED, moved.state());
        assertEquals(other, moved.hostId());
        assertEquals(1, farm.hypervisor.relocations.get());
        assertFalse(farm.hypervisor.guestsByHost.get(vm.hostId()).containsKey(vm.id()));
        Outcome.Granted back = grant("wiki");
        assertEquals(Activation.RESTORED, back.activation());
        assertEquals(other, back.hostId());
        assertThrows(org.servicefarm.api.InvalidRequestException.class, () -> farm.manager.migrate(vm.id(), other),
                "already there");
        assertThrows(org.servicefarm.api.InvalidRequestException.class, () -> farm.manager.migrate(vm.id(), "nowhere"));
    }

    @Test
    void aRelocationFromARowReadBeforeTheVmMovedElsewhereDoesNothing() {
        VmRecord vm = row(grant("wiki").vmId());
        String other = vm.hostId().equals("large") ? "small" : "large";
        VmRecord stale = farm.manager.operations.archive(vm, ArchiveTier.SAVED, "test").orElseThrow();
        farm.manager.migrate(vm.id(), other);
        int relocations = farm.hypervisor.relocations.get();
        assertEquals(java.util.Optional.empty(), farm.manager.operations.relocate(stale, vm.hostId(), "stale"),
                "not ARCHIVED on the host the stale row names: declined");
        assertEquals(VmState.ARCHIVED, row(vm.id()).state());
        assertEquals(other, row(vm.id()).hostId());
        assertEquals(relocations, farm.hypervisor.relocations.get(), "the driver was not asked");
    }

    @Test
    void drainingAHostMovesItsVmsAway() {
        farm.lifecycle(Map.of()); // active: the drain's sweep runs on its thread
        VmRecord active = row(grant("wiki").vmId());
        VmRecord asleep = row(grant("blog").vmId());
        String host = active.hostId();
        farm.manager.sleep(asleep.id());
        farm.manager.drain(host, true);
        // the drain asks for a sweep at once, on the lifecycle's thread (a sweep of this thread's beside it would race
        // it with rows read before the other moved them: two sweeps never run at once in the appliance)
        Farm.await("moved off " + host + " and archived", () -> farm.table.occupying().stream()
                .noneMatch(vm -> vm.hostId().equals(host)) && row(active.id()).state() == VmState.ARCHIVED);
        assertNotEquals(host, row(active.id()).hostId());
        Outcome.Granted back = grant("wiki");
        assertEquals(Activation.RESTORED, back.activation());
        assertNotEquals(host, back.hostId());
    }

    @Test
    void aPolicyPreWarmsThroughTheRequestPathIsToldOfRequestsAndCanBeSwappedAtRunTime() {
        Lifecycle lifecycle = farm.lifecycle(timers());
        Offering wiki = ((org.servicefarm.api.Resolution.Viable) farm.directory.resolve(ServiceRequest.of("wiki")))
                .offering();
        List<Offering> expected = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Offering> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        KeepAlivePolicy prewarming = new KeepAlivePolicy() {
            @Override
            public void requested(Offering offering, Instant at) {
                told.add(offering);
            }

            @Override
            public java.util.Optional<Due> due(VmRecord vm, Instant now, double perMinute) {
                return java.util.Optional.empty();
            }

            @Override
            public List<Offering> prewarm(Instant now) {
                return List.copyOf(expected);
            }
        };
        lifecycle.bindPolicy(prewarming, Map.of()); // greedy: it replaces the fixed timers
        assertEquals(0, lifecycle.sweep(), "nothing expected yet");
        expected.add(wiki);
        assertEquals(1, lifecycle.sweep(), "a VM created ahead of the request");
        Farm.await("pre-warmed", () -> farm.table.offering(wiki).stream().anyMatch(v -> v.state() == VmState.ACTIVE));
        assertEquals(0, lifecycle.sweep(), "one is ready: nothing more");
        String id = farm.table.offering(wiki).get(0).id();
        farm.manager.archive(id, ArchiveTier.SAVED);
        assertEquals(1, lifecycle.sweep(), "the archived one is restored");
        Farm.await("restored", () -> row(id).state() == VmState.ACTIVE);
        assertEquals(2, lifecycle.prewarms());
        assertEquals(1, farm.vms().stream().filter(v -> v.state() == VmState.ACTIVE).count());

        assertEquals(Activation.ACTIVE, grant("wiki").activation(), "the request finds it warm");
        assertEquals(List.of(wiki), told);

        lifecycle.unbindPolicy(prewarming);
        farm.manager.archive(id, ArchiveTier.SAVED);
        assertEquals(0, lifecycle.sweep(), "no policy in force: VMs stay as they are, nothing is pre-warmed");
        assertEquals(VmState.ARCHIVED, row(id).state());
    }
}
