package org.servicefarm.reuse.cost.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.placement.HostViews;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReuseRequest;
import org.servicefarm.api.reuse.ReuseTier;

class CostReusePolicyTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    static final Instant T0 = Instant.parse("2026-11-26T00:00:00Z");
    static final ReuseTier STANDARD = new ReuseTier("standard", 2, 0.8);
    static final HostStatus CHEAP = host("cheap", 0.10);
    static final HostStatus MID = host("mid", 0.50);
    static final HostStatus DEAR = host("dear", 0.90);
    /** Resume 0.2 s, restore 2 s, create 5 s: at the default 0.01 a second, 0.002, 0.02 and 0.05. */
    static final Map<Activation, Duration> EXPECTED = Map.of(Activation.RESUMED, Duration.ofMillis(200),
            Activation.RESTORED, Duration.ofSeconds(2), Activation.CREATED, Duration.ofSeconds(5));

    private CostReusePolicy policy = policy(Map.of());
    /** Where placement would put a new VM; empty when no host could take one. */
    private Optional<HostStatus> placementChoice = Optional.empty();
    private final AtomicInteger placementAsked = new AtomicInteger();

    @Test
    void restoresAnArchivedVmOnACheapHostRatherThanResumeOneOnADearHost() {
        // resume on dear: 0.90 + 0.002; restore on cheap: 0.10 + 0.02
        ReuseDecision d = decide(STANDARD, vm("sf-a", VmState.SLEEPING, DEAR), vm("sf-b", VmState.ARCHIVED, CHEAP));
        assertNull(d.grant());
        assertEquals(Step.RESTORE, d.step());
        assertEquals("sf-b", d.subject().id());
        assertTrue(d.reason().contains("restoring ARCHIVED VM sf-b on cheap"), d.reason());
    }

    @Test
    void resumesWhenTheWaitOutweighsTheHostsPrices() {
        // a client's second now costs 1: resume 0.90 + 0.2 = 1.10 against restore 0.10 + 2 = 2.10
        policy = policy(Map.of("delayCost", 1.0));
        ReuseDecision d = decide(STANDARD, vm("sf-a", VmState.SLEEPING, DEAR), vm("sf-b", VmState.ARCHIVED, CHEAP));
        assertEquals(Step.RESUME, d.step());
        assertEquals("sf-a", d.subject().id());
    }

    @Test
    void grantsTheCheapestActiveVmWithHeadroomBeforeTheLessLoadedDearOne() {
        ReuseDecision d = decide(STANDARD, active("sf-a", DEAR, 0.1), active("sf-b", CHEAP, 0.5),
                active("sf-c", CHEAP, 0.9));
        assertEquals("sf-b", d.grant().id());
        assertEquals(Step.NONE, d.step());
    }

    @Test
    void equalCostsGoToTheLowerLoadThenById() {
        assertEquals("sf-b", decide(STANDARD, active("sf-a", CHEAP, 0.4), active("sf-b", CHEAP, 0.2)).grant().id());
        assertEquals("sf-a", decide(STANDARD, active("sf-b", CHEAP, 0.2), active("sf-a", CHEAP, 0.2)).grant().id());
    }

    @Test
    void createsInTheBackgroundWhenPlacementsHostIsCheaperByTheMargin() {
        placementChoice = Optional.of(CHEAP);
        ReuseDecision d = decide(STANDARD, active("sf-a", DEAR, 0.1));
        assertEquals("sf-a", d.grant().id());
        assertEquals(Step.CREATE, d.step());
        assertTrue(d.reason().contains("host cheap (0.10/h) is cheaper than dear"), d.reason());

        // 0.50 is not below 0.90 x (1 - 0.5): no new VM
        policy = policy(Map.of("margin", 0.5));
        placementChoice = Optional.of(MID);
        assertEquals(Step.NONE, decide(STANDARD, active("sf-a", DEAR, 0.1)).step());
        // at the tier's maxReplicas placement is not even asked
        placementAsked.set(0);
        placementChoice = Optional.of(CHEAP);
        assertEquals(Step.NONE, decide(STANDARD, active("sf-a", DEAR, 0.1), vm("sf-b", VmState.SLEEPING, DEAR)).step());
        assertEquals(0, placementAsked.get());
    }

    @Test
    void noVmCreatesOnlyWhenCheaperThanTheBestWakeByTheMargin() {
        // restore on mid: 0.50 + 0.02 = 0.52; create on cheap: 0.10 + 0.05 = 0.15 < 0.52 x 0.75
        placementChoice = Optional.of(CHEAP);
        assertEquals(Step.CREATE, decide(STANDARD, vm("sf-a", VmState.ARCHIVED, MID)).step());
        // resume on cheap: 0.102; create on cheap: 0.15: wake
        assertEquals(Step.RESUME, decide(STANDARD, vm("sf-a", VmState.SLEEPING, CHEAP)).step());
    }

    @Test
    void busyVmsServeNowAndTheCheapestWayAddsOneWithinMaxReplicas() {
        placementChoice = Optional.of(DEAR);
        ReuseDecision d = decide(STANDARD, active("sf-a", CHEAP, 0.9), vm("sf-b", VmState.ARCHIVED, CHEAP));
        assertEquals("sf-a", d.grant().id());
        assertEquals(Step.RESTORE, d.step());

        ReuseDecision full = decide(STANDARD, active("sf-a", CHEAP, 0.9), active("sf-b", DEAR, 0.95));
        assertEquals("sf-a", full.grant().id());
        assertEquals(Step.NONE, full.step());
    }

    @Test
    void aDedicatedTierGetsAVmNobodyWasGrantedLately() {
        ReuseTier dedicated = new ReuseTier("dedicated", 1, 1.0);
        placementChoice = Optional.of(MID);
        ReusableVm taken = new ReusableVm(row("sf-a", VmState.ACTIVE, CHEAP, T0.minusSeconds(30)), 0.01, CHEAP, false);
        ReusableVm free = new ReusableVm(row("sf-b", VmState.ACTIVE, DEAR, T0.minusSeconds(3600)), 0, DEAR, false);
        assertEquals("sf-b", decide(dedicated, taken, free).grant().id());

        // every VM taken: a new one, whatever maxReplicas (1) says
        ReuseDecision d = decide(dedicated, taken);
        assertNull(d.grant());
        assertEquals(Step.CREATE, d.step());
        assertTrue(d.reason().startsWith("tier dedicated is dedicated"), d.reason());
        // the same VM for a tier that is not dedicated
        assertEquals("sf-a", decide(new ReuseTier("free", 1, 1.0), taken).grant().id());
    }

    @Test
    void keepsTheMinimumReplicas() {
        policy = policy(Map.of("minReplicas", "standard:2"));
        // resume on dear 0.902 against a new VM on dear 0.95: resume
        placementChoice = Optional.of(DEAR);
        ReuseDecision d = decide(new ReuseTier("standard", 4, 0.8), active("sf-a", CHEAP, 0.1),
                vm("sf-b", VmState.SLEEPING, DEAR));
        assertEquals("sf-a", d.grant().id());
        assertEquals(Step.RESUME, d.step());
        assertEquals("sf-b", d.subject().id());
        assertTrue(d.reason().contains("1 of tier standard's minimum 2 replicas"), d.reason());
        // against a new VM on mid, 0.55 < 0.902 x 0.75: create
        placementChoice = Optional.of(MID);
        assertEquals(Step.CREATE, decide(new ReuseTier("standard", 4, 0.8), active("sf-a", CHEAP, 0.1),
                vm("sf-b", VmState.SLEEPING, DEAR)).step());

        ReuseDecision enough = decide(new ReuseTier("standard", 4, 0.8), active("sf-a", CHEAP, 0.1),
                active("sf-c", CHEAP, 0.3));
        assertEquals(Step.NONE, enough.step());
    }

    @Test
    void joinsWorkUnderWayAndWaitsForAVmBeingPutToRest() {
        ReuseRequest creating = request(STANDARD, "creating a VM", vm("sf-a", VmState.ARCHIVED, CHEAP));
        assertEquals(Step.JOIN, policy.decide(creating).step());
        placementChoice = Optional.of(CHEAP);
        ReuseDecision d = decide(STANDARD, vm("sf-a", VmState.SUSPENDING, CHEAP));
        assertEquals(Step.WAIT, d.step());
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> policy(Map.of("margin", 1.0)));
        assertThrows(IllegalArgumentException.class, () -> policy(Map.of("minReplicas", "standard")));
    }

    private ReuseDecision decide(ReuseTier tier, ReusableVm... vms) {
        return policy.decide(request(tier, null, vms));
    }

    private ReuseRequest request(ReuseTier tier, String creating, ReusableVm... vms) {
        List<HostStatus> hosts = List.of(CHEAP, MID, DEAR);
        return new ReuseRequest(WIKI, tier, new ArrayList<>(List.of(vms)), creating, EXPECTED, T0,
                HostViews.of(hosts), () -> {
                    placementAsked.incrementAndGet();
                    return placementChoice;
                });
    }

    static CostReusePolicy policy(Map<String, Object> config) {
        CostReusePolicy policy = new CostReusePolicy();
        policy.configure(Converters.standardConverter().convert(new HashMap<>(config))
                .to(CostReusePolicy.Config.class), null);
        return policy;
    }

    static ReusableVm active(String id, HostStatus host, double load) {
        return new ReusableVm(row(id, VmState.ACTIVE, host, T0.minusSeconds(60)), load, host, false);
    }

    static ReusableVm vm(String id, VmState state, HostStatus host) {
        return new ReusableVm(row(id, state, host, T0.minusSeconds(600)), 0, host, false);
    }

    static VmRecord row(String id, VmState state, HostStatus host, Instant used) {
        return new VmRecord(id, host.name(), "img", WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 22000)), state,
                new Capacity(1, 256, 1), T0.minusSeconds(7200), used, 1, null);
    }

    static HostStatus host(String name, double cost) {
        return new HostStatus(new HostRecord(name, "fake", "fake:///" + name, new Capacity(8, 8192, 8), cost,
                "standard", Map.of()), Capacity.ZERO, true, null);
    }
}
