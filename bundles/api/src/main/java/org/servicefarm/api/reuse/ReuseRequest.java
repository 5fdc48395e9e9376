package org.servicefarm.api.reuse;

import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.servicefarm.api.Activation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmState;
import org.servicefarm.api.placement.HostView;

/**
 * What a {@link ReusePolicy} decides from: the offering asked for, the requesting tier, the offering's VMs with their
 * load, state and host, the work under way, what each way of bringing a VM into service takes, and the hosts.
 *
 * @param offering the combination asked for
 * @param tier     the requesting client's tier
 * @param vms      every VM offering it that occupies a host, in any state, ordered by id
 * @param creating what the creation of a VM of the offering under way is doing, or {@code null} when none is
 * @param expected how long each {@link Activation} takes now, as the core measures it (RESUMED, RESTORED, CREATED)
 * @param now      the farm's time, to compare with a VM's {@code lastUsedAt}
 * @param hosts    every host of the farm, for a policy that weighs hosts beyond the VMs' own (no filter applied)
 * @param newHost  where placement would put a new VM now
 */
public record ReuseRequest(Offering offering, ReuseTier tier, List<ReusableVm> vms, String creating,
                           Map<Activation, Duration> expected, Instant now, HostView hosts, NewHost newHost) {

    /** Where the placement in force would put a new VM of the offering now. */
    @FunctionalInterface
    public interface NewHost {
        /**
         * The host placement would choose for a new VM now, every filter applied and nothing reserved, or empty when
         * no host could take one. It costs a placement's draw: ask only when the answer matters.
         */
        Optional<HostStatus> choose();
    }

    public ReuseRequest {
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(tier, "tier");
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(newHost, "newHost");
        vms = List.copyOf(vms);
        expected = expected == null || expected.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(expected));
    }

    /** How long {@code activation} takes now; zero for ACTIVE or when the core gave no figure. */
    public Duration expected(Activation activation) {
        return expected.getOrDefault(activation, Duration.ZERO);
    }

    /**
     * The work under way a request may join, as a JOIN decision: the offering's creation, else the first waking VM by
     * id; empty when there is none. Every policy joins the same way, so concurrent requests build and wake once.
     */
    public Optional<ReuseDecision> join() {
        if (creating != null) {
            return Optional.of(ReuseDecision.then(ReuseDecision.Step.JOIN, null, "a VM is being created"));
        }
        return vms.stream().filter(ReusableVm::waking).findFirst().map(v -> ReuseDecision.then(
                ReuseDecision.Step.JOIN, v.vm(), "VM " + v.id() + " is being woken"));
    }

    /**
     * A WAIT decision for the first VM (by id) being put to sleep or archived, or empty: such a VM is woken once it
     * rests, which costs less than a new one.
     */
    public Optional<ReuseDecision> waitForResting() {
        return vms.stream().map(ReusableVm::vm).filter(vm -> vm.state() == VmState.SUSPENDING
                || vm.state() == VmState.ARCHIVING).findFirst().map(vm -> ReuseDecision.then(ReuseDecision.Step.WAIT,
                vm, "VM " + vm.id() + " is " + vm.state() + "; waking it once it rests costs less than a new VM"));
    }

    /** The VM of that id among {@link #vms}, if any. */
    public Optional<ReusableVm> vm(String id) {
        return vms.stream().filter(v -> v.id().equals(id)).findFirst();
    }
}
