package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.servicefarm.api.Activation;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The farm-wide VM cap, and the room eviction makes: when the cap is reached, or when no host can take a new or
 * restored VM, the eviction policy in force ({@link Eviction}) ranks the VMs held in memory (ACTIVE and SLEEPING, none
 * being woken, none of the offering the room is for, none on a host not connected) and the first goes. A victim is
 * archived while the archives' budget has room (configurable), destroyed otherwise: archiving keeps its state and
 * frees its host's memory and its slot under the cap all the same.
 */
final class VmCap {

    private static final Logger LOG = LoggerFactory.getLogger(VmCap.class);

    /**
     * Which VMs the cap's eviction may take, and what it does with a victim.
     *
     * @param archive     archive victims while the budget has room; else destroy them
     * @param budgetBytes what all ARCHIVED VMs' archives may take together
     * @param tier        the tier a victim is archived in
     * @param hold        how long a VM made ready for a request and not granted since is kept ({@link #awaitsItsClient})
     */
    record Victims(boolean archive, long budgetBytes, ArchiveTier tier, Duration hold) {
    }

    /** The room could not be made; the request is answered RETRY_LATER with the reason. */
    static final class NoRoomException extends Exception {
        private static final long serialVersionUID = 1L;

        NoRoomException(String message) {
            super(message);
        }
    }

    private final StateTable table;
    private final Eviction eviction;
    private final VmOperations operations;
    private final Clock clock;

    VmCap(StateTable table, Eviction eviction, VmOperations operations, Clock clock) {
        this.table = table;
        this.eviction = eviction;
        this.operations = operations;
        this.clock = clock;
    }

    /**
     * Takes a slot under the cap, evicting VMs while the cap is reached. Another creation may take a freed slot
     * first; then this one evicts again.
     */
    void reserveSlot(int cap, Offering forOffering, Victims victims) throws NoRoomException {
        while (!table.tryReserveSlot(cap)) {
            evictOne(forOffering, victims, vm -> true, "VM cap of " + cap + " reached");
        }
    }

    /**
     * Evicts the first VM the policy ranks among those {@code where} accepts, and returns once its room is free.
     *
     * @throws NoRoomException if no VM may be evicted
     */
    VmRecord evictOne(Offering forOffering, Victims victims, Predicate<VmRecord> where, String why)
            throws NoRoomException {
        while (true) {
            VmRecord victim = chooseVictim(forOffering, victims, where, why);
            if (evict(victim, victims, why)) {
                return victim;
            }
            // it moved meanwhile (a request woke it, the lifecycle took it): choose again
        }
    }

    private VmRecord chooseVictim(Offering forOffering, Victims victims, Predicate<VmRecord> where, String why)
            throws NoRoomException {
        Map<String, VmRecord> evictable = new HashMap<>();
        Instant now = clock.instant();
        int held = 0;
        int unreachable = 0;
        for (VmRecord vm : table.occupying()) {
            if ((vm.state() == VmState.ACTIVE || vm.state() == VmState.SLEEPING) && !operations.waking(vm.id())
                    && !vm.offering().equals(forOffering) && where.test(vm)) {
                if (awaitsItsClient(vm, now, victims.hold())) {
                    held++;
                } else if (!operations.reachable(vm)) {
                    // its host cannot archive or destroy it now: "evicted", its row would say gone while its guest
                    // runs on (and serves: see StrandedVms), and no room placement can use would come free
                    unreachable++;
                } else {
                    evictable.put(vm.id(), vm);
                }
            }
        }
        boolean archiving = archives(victims, 0);
        Duration back = operations.estimate(archiving ? Activation.RESTORED : Activation.CREATED);
        List<EvictionCandidate> candidates = new ArrayList<>();
        for (VmRecord vm : evictable.values()) {
            candidates.add(new EvictionCandidate(vm.id(), vm.createdAt(), lastWanted(vm), vm.grants(),
                    vm.resources().memoryMiB() * 1024 * 1024, back));
        }
        for (EvictionCandidate candidate : eviction.rankVms(candidates, clock.instant())) {
            VmRecord vm = evictable.get(candidate.id());
            if (vm != null) {
                return vm;
            }
        }
        throw new NoRoomException(why + " and " + (eviction.hasVmPolicy()
                ? "no VM may be evicted (" + evictable.size() + " candidates" + (held == 0 ? ""
                        : "; " + held + " made ready for requests whose retries are due") + (unreachable == 0 ? ""
                        : "; " + unreachable + " on hosts not connected") + ")"
                : "no eviction policy is in force"));
    }

    /**
     * When {@code vm} was last wanted, as the policy is told its last use: its last grant, or when it was last brought
     * back into memory (resumed, restored: for a request, or a pre-warm), whichever is later. A VM woken for a request
     * that was answered RETRY_LATER is not granted until that request comes back for it; ranked by its last grant
     * alone, before it was put away, it was the first to go, and under a full cap VMs were restored only to be
     * evicted again before anyone was served by them.
     */
    static Instant lastWanted(VmRecord vm) {
        Instant granted = vm.lastActivity();
        Instant active = vm.state() == VmState.ACTIVE ? vm.stateSince() : null;
        return active != null && active.isAfter(granted) ? active : granted;
    }

    /**
     * Whether {@code vm} was made ready (created, resumed, restored) less than {@code hold} ago and has not been granted
     * since: the request it was made for was answered RETRY_LATER, and its client is told to come back for it. Evicted
     * meanwhile, it would be made ready again on the retry, and under a full cap again evicted: work done for no one
     * ({@code benchmarks/run-overload} measures what the hold saves).
     */
    static boolean awaitsItsClient(VmRecord vm, Instant now, Duration hold) {
        Instant ready = vm.state() == VmState.ACTIVE ? vm.stateSince() : null;
        return ready != null && ready.isAfter(vm.lastActivity()) && Duration.between(ready, now).compareTo(hold) < 0;
    }

    /** Whether a victim of {@code bytes} more fits the archives' budget. */
    boolean archives(Victims victims, long bytes) {
        if (!victims.archive()) {
            return false;
        }
        long used = 0;
        for (VmRecord vm : table.occupying()) {
            if (vm.archive() != null && vm.archive().bytes() > 0) {
                used += vm.archive().bytes();
            }
        }
        return used + bytes < victims.budgetBytes();
    }

    /** Archives or destroys a victim; false if it was no longer in the state it was chosen in. */
    private boolean evict(VmRecord victim, Victims victims, String why) {
        String reason = "evicted: " + why;
        if (archives(victims, victim.resources().memoryMiB() * 1024 * 1024)) {
            LOG.info("Evicting {} ({}): archiving it, {}", victim.id(), victim.offering().key(), why);
            try {
                return operations.archiveAsKept(victim, victims.tier(), reason).isPresent();
            } catch (VmOperations.OperationFailedException e) {
                LOG.warn("Evicting {}: {}; destroying it instead", victim.id(), e.getMessage());
                // it is back in its state: destroyed from there
                return table.vm(victim.id()).filter(vm -> vm.state() == victim.state())
                        .flatMap(vm -> operations.destroy(vm, reason + " (its archive failed)")).isPresent();
            }
        }
        LOG.info("Evicting {} ({}): destroying it, {}", victim.id(), victim.offering().key(), why);
        return operations.destroy(victim, reason).isPresent();
    }
}
