package org.servicefarm.core.internal;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.audit.AuditTrail;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state table: the one owner of VM state. Every change (the request path, the lifecycle, hypervisor events,
 * reconcile, the operator) is a move of {@link Moves}, carried out by the {@link VmStore} in force with a
 * compare-and-set on the row's state; an illegal move is refused with a {@link ConflictException} before the store is
 * asked, and a move whose expected state is stale changes nothing and returns empty.
 * <p>
 * Each change the store reports is applied to what follows the rows, exactly once (the store reports a change to the
 * one caller that made it): each host's use ({@link HostIndex#occupy}, {@link HostIndex#vacate}) and the count of VMs
 * under the VM cap. Both change incrementally, never by a scan. A VM holds host capacity while it is in memory: an
 * ARCHIVED one does not (its host may run others meanwhile), so restoring it reserves room again.
 */
/*
 * Its store is the highest-ranked one, or the one etc/org.servicefarm.store.cfg names (store.target): the appliance
 * ships naming its database store, so the table waits for it at boot instead of starting on the store in memory and
 * starting again (with everything over it) when the database store arrives.
 */
@Component(service = {StateTable.class, StateTableView.class}, configurationPid = "org.servicefarm.store",
        property = RefusedConfiguration.WITHOUT + "store=the state table waits for its store: the farm's core does "
                + "not start, no request is served")
public class StateTable implements StateTableView {

    private static final Logger LOG = LoggerFactory.getLogger(StateTable.class);

    @Reference
    HostIndex hosts;

    /**
     * Told of every row change, after the store made it: a change is reported once it is true. Two moves of one VM
     * on two threads may be reported in either order; a listener that must be exact reads the row again.
     */
    @Reference
    FarmEvents events = new FarmEvents();

    /** Every move and adoption goes to the audit trail, when the appliance has one (a store bundle). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile AuditTrail audit;

    /**
     * The store named by {@code store.target} if configured, else the highest-ranked one; a better one arriving
     * restarts the table (and what depends on it).
     */
    @Reference(name = "store", policyOption = ReferencePolicyOption.GREEDY)
    VmStore store;

    /** When each move happened: the lifecycle's timers count from it. */
    Clock clock = Clock.systemUTC();

    /** Rows under the VM cap (in memory, not being destroyed), plus slots reserved for rows to come. */
    private final AtomicInteger capped = new AtomicInteger();

    /** Counts what the store's rows hold: a database store comes with rows from before a restart. */
    /** When this table started: a row in a transitional state since before then has no work under way for it. */
    private volatile java.time.Instant activatedAt = java.time.Instant.MIN;

    @Activate
    void activate() {
        activatedAt = clock.instant();
        for (VmRecord vm : store.observe(this::changedElsewhere)) {
            index(null, vm, false);
        }
    }

    /** Gives back what this table counted, so a new table over a better store starts from its rows. */
    @Deactivate
    void deactivate() {
        for (VmRecord vm : store.observe(null)) {
            index(vm, null, false);
        }
    }

    /**
     * A row another appliance sharing the store added, moved or removed: counted here as this appliance's own changes
     * are (the host's use, the VM cap), and told to the listeners. Its audit entry is the other appliance's to write.
     */
    private void changedElsewhere(VmRecord before, VmRecord after) {
        index(before, after, false);
        if (after != null) {
            events.vmChanged(after);
        }
    }

    @Override
    public List<VmRecord> vms() {
        return store.vms();
    }

    @Override
    public Optional<VmRecord> vm(String id) {
        return store.vm(id);
    }

    @Override
    public List<VmRecord> offering(Offering offering) {
        return store.offering(offering);
    }

    /** VMs that occupy a host (every state but DESTROYED and FAILED), read from the live index. */
    List<VmRecord> occupying() {
        return store.occupying();
    }

    /** Adds the row of a VM found on a host (adopted); what it holds is counted, whatever room is left there. */
    boolean put(VmRecord vm) {
        VmRecord stamped = vm.stateSince() == null ? vm.since(clock.instant()) : vm;
        if (!store.insert(stamped)) {
            return false;
        }
        index(null, stamped, false);
        events.vmChanged(stamped);
        audit("adopt", stamped, "recorded as " + stamped.state() + " on " + stamped.hostId(), stamped.detail());
        return true;
    }

    /**
     * Adds the row of a VM placement reserved room for ({@link Placement#place}) and a VM-cap slot was reserved for
     * ({@link #tryReserveSlot}): both are already counted, so this takes them over instead of counting again. The store
     * checks the room again by the rows of every appliance sharing it, and that no other one creates the offering.
     *
     * @param hostCapacity what the VM's host has in all
     * @throws RoomTakenException if another appliance took the room meanwhile (its rows are in view now)
     * @throws BeingCreatedException if another appliance is creating a VM of the offering
     */
    void putReserved(VmRecord vm, Capacity hostCapacity) {
        VmRecord stamped = vm.since(clock.instant());
        VmStore.Claim claim = store.claim(stamped, hostCapacity);
        if (claim instanceof VmStore.Claim.NoRoom noRoom) {
            throw new RoomTakenException(noRoom.reason());
        }
        if (claim instanceof VmStore.Claim.BeingCreated other) {
            throw new BeingCreatedException(other.other());
        }
        if (claim instanceof VmStore.Claim.Exists) {
            throw new IllegalStateException("VM " + vm.id() + " is in the table already");
        }
        events.vmChanged(stamped);
    }

    /** The room reserved for a VM was taken by another appliance sharing the store. */
    static final class RoomTakenException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RoomTakenException(String reason) {
            super(reason);
        }
    }

    /** Another appliance sharing the store is creating a VM of the offering: requests join it. */
    static final class BeingCreatedException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient VmRecord other;

        BeingCreatedException(VmRecord other) {
            super("VM " + other.id() + " of " + other.offering().key() + " is being created by another appliance");
            this.other = other;
        }
    }

    /**
     * Moves a VM from {@code from} to {@code to} with {@code detail}.
     *
     * @return the row after, or empty if it is not in {@code from} (someone else moved it first) or is gone
     * @throws ConflictException if the move is not a legal one
     */
    Optional<VmRecord> move(String id, VmState from, VmState to, String detail) {
        return move(id, from, to, vm -> vm.withState(to, detail));
    }

    /** Moves a VM as {@link #move(String, VmState, VmState, String)}, changing its row with {@code change} too. */
    Optional<VmRecord> move(String id, VmState from, VmState to, UnaryOperator<VmRecord> change) {
        return apply(id, from, to, change, null);
    }

    /**
     * Moves a VM into a state that holds host capacity whose room and VM-cap slot the caller reserved already (a
     * restore): the move takes them over. Empty also when the store finds the host full by the rows of every
     * appliance sharing it (the caller gives its reservation back).
     *
     * @param hostCapacity what the host the changed row names has in all
     */
    Optional<VmRecord> moveReserved(String id, VmState from, VmState to, UnaryOperator<VmRecord> change,
                                    Capacity hostCapacity) {
        return apply(id, from, to, change, hostCapacity);
    }

    /**
     * Moves a VM to {@code to} from whatever state it is in now, if that move is legal (a failure, a vanished guest);
     * retries while it moves meanwhile.
     *
     * @return the row after, or empty if it is gone, already in {@code to}, or may not move there
     */
    Optional<VmRecord> moveFromAny(String id, VmState to, String detail) {
        while (true) {
            Optional<VmRecord> now = store.vm(id);
            if (now.isEmpty() || now.get().state() == to || !Moves.legal(now.get().state(), to)) {
                return Optional.empty();
            }
            Optional<VmRecord> done = move(id, now.get().state(), to, detail);
            if (done.isPresent()) {
                return done;
            }
        }
    }

    /** Changes a VM's row in place while it is in {@code state} (a grant, its endpoints). */
    Optional<VmRecord> update(String id, VmState state, UnaryOperator<VmRecord> change) {
        return apply(id, state, state, change, null);
    }

    /** Changes a VM's row in place in whatever state it is in, retrying if it moves meanwhile. */
    Optional<VmRecord> update(String id, UnaryOperator<VmRecord> change) {
        while (true) {
            Optional<VmRecord> now = store.vm(id);
            if (now.isEmpty()) {
                return Optional.empty();
            }
            Optional<VmRecord> done = update(id, now.get().state(), change);
            if (done.isPresent()) {
                return done;
            }
        }
    }

    /** @param reservedOn what the host has in all, when the caller reserved room there for the move; else null */
    private Optional<VmRecord> apply(String id, VmState from, VmState to, UnaryOperator<VmRecord> change,
                                     Capacity reservedOn) {
        if (from != to && !Moves.legal(from, to)) {
            throw new ConflictException("VM " + id + " cannot move from " + from + " to " + to);
        }
        boolean reserved = reservedOn != null;
        UnaryOperator<VmRecord> stamped = row -> {
            VmRecord changed = change.apply(row);
            return changed == null || from == to ? changed : changed.since(clock.instant());
        };
        Optional<VmStore.Change> done = reserved ? store.transition(id, from, to, stamped, reservedOn)
                : store.transition(id, from, to, stamped);
        done.ifPresent(c -> {
            index(c.before(), c.after(), reserved);
            if (!c.after().equals(c.before())) {
                events.vmChanged(c.after());
            }
            if (from != to) {
                LOG.debug("VM {}: {} -> {} ({})", id, from, to, c.after().detail());
                audit("move", c.after(), from + " -> " + to, c.after().detail());
            }
        });
        return done.map(VmStore.Change::after);
    }

    private void audit(String action, VmRecord vm, String outcome, String reason) {
        AuditTrail trail = audit;
        if (trail != null) {
            trail.record(AuditTrail.APPLIANCE, action, vm.id() + " " + vm.offering().key(), outcome, reason);
        }
    }

    /** Removes a DESTROYED or FAILED row from the table's history. */
    Optional<VmRecord> forget(String id, VmState state) {
        if (state.occupiesHost()) {
            throw new ConflictException("VM " + id + " is " + state + ": only a destroyed or failed VM is forgotten");
        }
        return store.remove(id, state);
    }

    /**
     * Whether a row is half-way through a move that nothing carries on: this appliance made the move before this table
     * started (it restarted or crashed meanwhile), or another appliance sharing the store made it and is gone.
     */
    boolean orphaned(VmRecord vm) {
        if (!vm.state().transitional()) {
            return false;
        }
        return switch (store.worker(vm)) {
            case THIS -> vm.inStateSince().isBefore(activatedAt);
            case ELSEWHERE -> false; // another appliance sharing the store carries it on
            case GONE -> true; // the appliance that made the move stopped or crashed
        };
    }

    /** Whether another appliance sharing the store, alive, carries on the move the row is in. */
    boolean workedElsewhere(VmRecord vm) {
        return vm.state().transitional() && store.worker(vm) == VmStore.Worker.ELSEWHERE;
    }

    /** How many VMs count under the VM cap: those in memory and not being destroyed, and reserved slots. */
    int capped() {
        return capped.get();
    }

    /** Takes a slot under the VM cap for a VM about to be placed or restored, if fewer than {@code cap} are taken. */
    boolean tryReserveSlot(int cap) {
        while (true) {
            int now = capped.get();
            if (now >= cap) {
                return false;
            }
            if (capped.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    /** Gives back a slot {@link #tryReserveSlot} took for a VM that will not be recorded. */
    void releaseSlot() {
        capped.decrementAndGet();
    }

    /** Whether a VM in this row holds its host's capacity ({@link VmRecord#holdsHost()}); no row holds none. */
    static boolean holdsHost(VmRecord vm) {
        return vm != null && vm.holdsHost();
    }

    private static boolean underCap(VmRecord vm) {
        return holdsHost(vm) && vm.state() != VmState.DESTROYING;
    }

    /**
     * Keeps the hosts' use and the cap count in step with a row changing from {@code old} to {@code vm}; called once
     * per change. {@code reserved}: the new row's use and cap slot were counted when they were reserved.
     */
    private void index(VmRecord old, VmRecord vm, boolean reserved) {
        boolean same = holdsHost(old) && holdsHost(vm) && old.hostId().equals(vm.hostId())
                && old.resources().equals(vm.resources());
        if (holdsHost(old) && !same) {
            hosts.vacate(old.hostId(), old.resources(), old.offering().securityLevel());
        }
        if (holdsHost(vm) && !reserved && !same) {
            hosts.occupy(vm.hostId(), vm.resources(), vm.offering().securityLevel());
        }
        int capDelta = (underCap(vm) ? 1 : 0) - (underCap(old) ? 1 : 0);
        if (reserved && underCap(vm)) {
            capDelta -= 1; // the slot was taken when it was reserved
        }
        if (capDelta != 0) {
            capped.addAndGet(capDelta);
        }
    }
}
