package org.servicefarm.api.reuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.reuse.ReuseDecision.Step;

class ReuseDecisionTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");

    @Test
    void aDecisionMustFitItsStep() {
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.grant(vm("a", VmState.SLEEPING), "x"));
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.then(Step.RESUME, vm("a", VmState.ARCHIVED), "x"));
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.then(Step.RESTORE, null, "x"));
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.then(Step.CREATE, vm("a", VmState.ACTIVE), "x"));
        assertThrows(IllegalArgumentException.class,
                () -> ReuseDecision.grantAnd(vm("a", VmState.ACTIVE), Step.JOIN, null, "x"));
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.then(Step.WAIT, null, "x"));
        assertEquals(Step.RESTORE, ReuseDecision.wakeStep(vm("a", VmState.ARCHIVED)));
        assertThrows(IllegalArgumentException.class, () -> ReuseDecision.wakeStep(vm("a", VmState.ACTIVE)));
    }

    @Test
    void joinPrefersTheCreationThenTheFirstWakingVmById() {
        ReusableVm b = new ReusableVm(vm("b", VmState.RESTORING), 0, null, true);
        ReusableVm a = new ReusableVm(vm("a", VmState.RESUMING), 0, null, true);
        assertEquals(Optional.empty(), request(null).join());
        assertEquals(null, request("creating", a).join().orElseThrow().subject());
        assertEquals("a", request(null, a, b).join().orElseThrow().subject().id());
    }

    @Test
    void waitForRestingNamesAVmBeingPutToRest() {
        ReusableVm archiving = new ReusableVm(vm("a", VmState.ARCHIVING), 0, null, false);
        ReuseDecision wait = request(null, archiving).waitForResting().orElseThrow();
        assertEquals(Step.WAIT, wait.step());
        assertTrue(wait.reason().contains("ARCHIVING"), wait.reason());
        assertEquals(Optional.empty(), request(null, new ReusableVm(vm("a", VmState.SLEEPING), 0, null, false))
                .waitForResting());
    }

    private static ReuseRequest request(String creating, ReusableVm... vms) {
        return new ReuseRequest(WIKI, new ReuseTier("standard", 2, 0.8), List.of(vms), creating, Map.of(),
                Instant.EPOCH, HostViews.of(List.of()), Optional::empty);
    }

    private static VmRecord vm(String id, VmState state) {
        return new VmRecord(id, "h", "img", WIKI, Map.of(), state, new Capacity(1, 256, 1), Instant.EPOCH, null, 0,
                null);
    }
}
