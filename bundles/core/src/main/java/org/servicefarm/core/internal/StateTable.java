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
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.audit.AuditTrail;
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
@Component(service = {StateTable.class, StateTableView.class}, configurationPid = "org.servicefarm.store")
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
        for (VmRecord vm : store.occupying()) {
            index(null, vm, false);
        }
    }

    /** Gives back what this table counted, so a new table over a better store starts from its rows. */
    @Deactivate
    void deactivate() {
        for (VmRecord vm : store.occupying()) {
            index(vm, null, false);
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
     * ({@link #tryReserveSlot}): both are already counted, so this takes them over instead of counting again.
     */
    void putReserved(VmRecord vm) {
        VmRecord stamped = vm.since(clock.instant());
        if (!store.insert(stamped)) {
            throw new IllegalStateException("VM " + vm.id() + " is in the table already");
        }
        events.vmChanged(stamped);
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
        return apply(id, from, to, change, false);
    }

    /**
     * Moves a VM into a state that holds host capacity whose room and VM-cap slot the caller reserved already (a
     * restore): the move takes them over.
     */
    Optional<VmRecord> moveReserved(String id, VmState from, VmState to, UnaryOperator<VmRecord> change) {
        return apply(id, from, to, change, true);
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
        return apply(id, state, state, change, false);
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

    private Optional<VmRecord> apply(String id, VmState from, VmState to, UnaryOperator<VmRecord> change,
                                     boolean reserved) {
        if (from != to && !Moves.legal(from, to)) {
            throw new ConflictException("VM " + id + " cannot move from " + from + " to " + to);
        }
        Optional<VmStore.Change> done = store.transition(id, from, to, row -> {
            VmRecord changed = change.apply(row);
            return changed == null || from == to ? changed : changed.since(clock.instant());
        });
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
     * Whether a row is half-way through a move that nothing in this appliance carries on: it was in its transitional
     * state before this table started (the appliance restarted or crashed meanwhile), so no work here will end it.
     */
    boolean orphaned(VmRecord vm) {
        return vm.state().transitional() && vm.inStateSince().isBefore(activatedAt);
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

    /**
     * Whether a VM in this row holds its host's capacity: while it is in memory. An ARCHIVED VM does not; one being
     * archived from memory still does, one whose archive is moved between tiers does not; one being destroyed does as
     * long as it was not archived.
     */
    static boolean holdsHost(VmRecord vm) {
        if (vm == null) {
            return false;
        }
        return switch (vm.state()) {
            case CREATING, STARTING, ACTIVE, SUSPENDING, SLEEPING, RESUMING, RESTORING -> true;
            case ARCHIVING, DESTROYING -> vm.archive() == null;
            case ARCHIVED, DESTROYED, FAILED -> false;
        };
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
