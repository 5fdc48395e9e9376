package org.servicefarm.reuse.defaults.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReuseRequest;
import org.servicefarm.api.reuse.ReuseTier;

class DefaultReusePolicyTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    static final Instant T0 = Instant.parse("2026-11-26T00:00:00Z");
    static final ReuseTier STANDARD = new ReuseTier("standard", 2, 0.8);

    private final DefaultReusePolicy policy = new DefaultReusePolicy();

    @Test
    void grantsTheLeastLoadedActiveVmWithinTheThreshold() {
        ReuseDecision d = decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.7, 0), vm("sf-b", VmState.ACTIVE, 0.3, 1),
                vm("sf-c", VmState.SLEEPING, 0, 2));
        assertEquals("sf-b", d.grant().id());
        assertEquals(Step.NONE, d.step());
        assertTrue(d.reason().contains("load 0.30"), d.reason());
    }

    @Test
    void equalLoadsGoToTheOlderVmThenById() {
        assertEquals("sf-z", decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.2, 5),
                vm("sf-z", VmState.ACTIVE, 0.2, 1)).grant().id());
        assertEquals("sf-a", decide(STANDARD, null, vm("sf-z", VmState.ACTIVE, 0.2, 1),
                vm("sf-a", VmState.ACTIVE, 0.2, 1)).grant().id());
    }

    @Test
    void anActiveVmWithoutAnEndpointIsNeverGranted() {
        ReusableVm adopted = new ReusableVm(row("sf-a", VmState.ACTIVE, 0, null).withEndpoints(Map.of()), 0, null, false);
        ReuseDecision d = decide(STANDARD, null, adopted);
        assertNull(d.grant());
        assertEquals(Step.CREATE, d.step());
    }

    @Test
    void busyVmsServeNowAndASleepingOneIsResumedBeforeAnArchivedOne() {
        ReuseDecision d = decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.9, 0), vm("sf-b", VmState.ARCHIVED, 0, 9),
                vm("sf-c", VmState.SLEEPING, 0, 1));
        assertEquals("sf-a", d.grant().id());
        assertEquals(Step.RESUME, d.step());
        assertEquals("sf-c", d.subject().id());
    }

    @Test
    void theMostRecentlyUsedRestingVmIsWoken() {
        ReuseDecision d = decide(STANDARD, null, vm("sf-a", VmState.ARCHIVED, 0, 3), vm("sf-b", VmState.ARCHIVED, 0, 7));
        assertNull(d.grant());
        assertEquals(Step.RESTORE, d.step());
        assertEquals("sf-b", d.subject().id());
    }

    @Test
    void busyVmsScaleOutByCreatingOnlyBelowMaxReplicas() {
        ReuseDecision below = decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.9, 0));
        assertEquals("sf-a", below.grant().id());
        assertEquals(Step.CREATE, below.step());

        ReuseDecision atMax = decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.9, 0), vm("sf-b", VmState.ACTIVE, 1.2, 0));
        assertEquals("sf-a", atMax.grant().id());
        assertEquals(Step.NONE, atMax.step());
        assertTrue(atMax.reason().contains("maxReplicas is 2"), atMax.reason());
    }

    @Test
    void aTierWithALowerThresholdScalesOutWhereAnotherIsServed() {
        ReusableVm half = vm("sf-a", VmState.ACTIVE, 0.6, 0);
        assertEquals(Step.NONE, decide(STANDARD, null, half).step());
        assertEquals(Step.CREATE, decide(new ReuseTier("premium", 4, 0.5), null, half).step());
    }

    @Test
    void workUnderWayIsJoinedTheCreationFirst() {
        ReusableVm waking = new ReusableVm(row("sf-a", VmState.RESUMING, 0, null), 0, null, true);
        ReuseDecision creating = decide(STANDARD, "creating a VM", waking);
        assertEquals(Step.JOIN, creating.step());
        assertNull(creating.subject());

        ReuseDecision woken = decide(STANDARD, null, waking, vm("sf-b", VmState.SLEEPING, 0, 0));
        assertEquals(Step.JOIN, woken.step());
        assertEquals("sf-a", woken.subject().id());
    }

    @Test
    void busyVmsWithWorkUnderWayAreGrantedWithoutMoreWork() {
        ReuseDecision d = decide(STANDARD, "creating a VM", vm("sf-a", VmState.ACTIVE, 0.9, 0));
        assertEquals("sf-a", d.grant().id());
        assertEquals(Step.NONE, d.step());
    }

    @Test
    void noVmCreatesEvenAtMaxReplicasButWaitsForOneBeingPutToRest() {
        ReuseTier one = new ReuseTier("free", 1, 1.0);
        assertEquals(Step.CREATE, decide(one, null).step());
        ReuseDecision d = decide(one, null, vm("sf-a", VmState.SUSPENDING, 0, 0));
        assertEquals(Step.WAIT, d.step());
        assertEquals("sf-a", d.subject().id());
    }

    @Test
    void writesLoadsAsTheFormatterDid() {
        java.util.Random random = new java.util.Random(42);
        List<Double> values = new ArrayList<>(List.of(0.0, -0.0, -0.004, -0.005, 0.005, 0.125, 1.005, 2.675, 1e20,
                1e-20, 123456789.125, Double.NaN, Double.POSITIVE_INFINITY));
        for (int i = 0; i < 100_000; i++) {
            values.add(i % 2 == 0 ? random.nextDouble() * 3 : Math.round(random.nextDouble() * 3000) / 1000.0);
        }
        for (double value : values) {
            assertEquals(String.format(java.util.Locale.ROOT, "%.2f", value), DefaultReusePolicy.twoDecimals(value),
                    () -> "for " + value);
        }
        ReuseDecision d = decide(STANDARD, null, vm("sf-a", VmState.ACTIVE, 0.125, 0));
        assertEquals("least loaded ACTIVE VM: load 0.13 within tier standard's threshold 0.80", d.reason());
    }

    private ReuseDecision decide(ReuseTier tier, String creating, ReusableVm... vms) {
        ReuseRequest request = new ReuseRequest(WIKI, tier, new ArrayList<>(List.of(vms)), creating, Map.of(), T0,
                HostViews.of(List.of()), Optional::empty);
        return policy.decide(request);
    }

    /** A VM created {@code age} minutes before {@code T0} and last used {@code used} minutes after it. */
    static ReusableVm vm(String id, VmState state, double load, int used) {
        return new ReusableVm(row(id, state, used, T0.plusSeconds(60L * used)), load, null, false);
    }

    static VmRecord row(String id, VmState state, int created, Instant used) {
        return new VmRecord(id, "host", "img", WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 22000)), state,
                new Capacity(1, 256, 1), T0.minusSeconds(3600 - created), used, 0, null);
    }
}
