package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * The state table, in memory. A component of its own so that reconfiguring the manager never
 * loses it. Rows change only through {@link #put} and {@link #update}, each atomic per VM.
 * <p>
 * Inside each row's atomic change it reports what the change means for the hosts ({@link HostIndex#occupy},
 * {@link HostIndex#vacate}) and keeps the count of VMs under the VM cap, so both follow the rows incrementally and
 * exactly once per change, never by a scan.
 */
@Component(service = {StateTable.class, StateTableView.class})
public class StateTable implements StateTableView {

    /** DESTROYED rows kept as history; older ones are dropped. */
    static final int HISTORY_LIMIT = 1000;

    @Reference
    HostIndex hosts;
    /** Told of every row change, inside the row's atomic update so that each VM's changes arrive in order. */
    @Reference
    FarmEvents events = new FarmEvents();

    private final Map<String, VmRecord> rows = new ConcurrentHashMap<>();
    /** Rows under the VM cap (occupying a host, not being destroyed), plus slots reserved for rows to come. */
    private final AtomicInteger capped = new AtomicInteger();
    /** The rows that occupy a host, by offering: the warm path reads only these, never the history. */
    private final Map<Offering, Map<String, VmRecord>> liveByOffering = new ConcurrentHashMap<>();
    private static final Comparator<VmRecord> OLDEST_FIRST =
            Comparator.comparing(VmRecord::createdAt).thenComparing(VmRecord::id);

    @Override
    public List<VmRecord> vms() {
        List<VmRecord> all = new ArrayList<>(rows.values());
        all.sort(OLDEST_FIRST);
        return all;
    }

    @Override
    public Optional<VmRecord> vm(String id) {
        return Optional.ofNullable(id == null ? null : rows.get(id));
    }

    @Override
    public List<VmRecord> offering(Offering offering) {
        Map<String, VmRecord> live = liveByOffering.get(offering);
        if (live == null) {
            return List.of();
        }
        List<VmRecord> result = new ArrayList<>(live.values());
        result.sort(OLDEST_FIRST);
        return result;
    }

    /** VMs that occupy a host (every state but DESTROYED and FAILED), read from the live index. */
    List<VmRecord> occupying() {
        List<VmRecord> result = new ArrayList<>();
        liveByOffering.values().forEach(live -> result.addAll(live.values()));
        return result;
    }

    /** Adds or replaces a row; what it occupies is counted (an adopted VM runs there whatever room is left). */
    void put(VmRecord vm) {
        rows.compute(vm.id(), (k, old) -> index(old, vm, false));
        pruneHistory();
    }

    /**
     * Adds the row of a VM placement reserved room for ({@link Placement#place}) and a VM-cap slot was reserved for
     * ({@link #tryReserveSlot}): both are already counted, so this takes them over instead of counting again.
     */
    void putReserved(VmRecord vm) {
        rows.compute(vm.id(), (k, old) -> {
            if (old != null) {
                throw new IllegalStateException("VM " + vm.id() + " is in the table already");
            }
            return index(null, vm, true);
        });
    }

    /** Applies {@code change} atomically to the row, if it exists; returns the new row. */
    Optional<VmRecord> update(String id, UnaryOperator<VmRecord> change) {
        return Optional.ofNullable(rows.computeIfPresent(id, (k, vm) -> index(vm, change.apply(vm), false)));
    }

    /** How many VMs count under the VM cap: those occupying a host and not being destroyed, and reserved slots. */
    int capped() {
        return capped.get();
    }

    /** Takes a slot under the VM cap for a VM about to be placed, if fewer than {@code cap} are taken. */
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

    private static boolean underCap(VmRecord vm) {
        return vm != null && vm.state().occupiesHost() && vm.state() != VmState.DESTROYING;
    }

    private static boolean occupies(VmRecord vm) {
        return vm != null && vm.state().occupiesHost();
    }

    /**
     * Keeps the live index, the hosts' use and the cap count in step with a row changing from {@code old} to
     * {@code vm}; called inside the row's atomic update, so each change is counted once. {@code reserved}: the new
     * row's use and cap slot were counted when they were reserved.
     */
    private VmRecord index(VmRecord old, VmRecord vm, boolean reserved) {
        if (occupies(old) && !(occupies(vm) && old.hostId().equals(vm.hostId())
                && old.resources().equals(vm.resources()))) {
            hosts.vacate(old.hostId(), old.resources(), old.offering().securityLevel());
        }
        if (occupies(vm) && !reserved && !(occupies(old) && old.hostId().equals(vm.hostId())
                && old.resources().equals(vm.resources()))) {
            hosts.occupy(vm.hostId(), vm.resources(), vm.offering().securityLevel());
        }
        int capDelta = (underCap(vm) ? 1 : 0) - (underCap(old) ? 1 : 0);
        if (capDelta != 0 && !reserved) {
            capped.addAndGet(capDelta);
        }
        indexByOffering(vm);
        if (!vm.equals(old)) {
            events.vmChanged(vm);
        }
        return vm;
    }

    /** Keeps the live index in step with a row. */
    private VmRecord indexByOffering(VmRecord vm) {
        if (vm.state().occupiesHost()) {
            // put inside compute: a concurrent removal of the last row must not drop the map under us
            liveByOffering.compute(vm.offering(), (k, live) -> {
                Map<String, VmRecord> rowsOfOffering = live == null ? new ConcurrentHashMap<>() : live;
                rowsOfOffering.put(vm.id(), vm);
                return rowsOfOffering;
            });
        } else {
            liveByOffering.computeIfPresent(vm.offering(), (k, live) -> {
                live.remove(vm.id());
                return live.isEmpty() ? null : live;
            });
        }
        return vm;
    }

    /** Moves a VM to {@code state} unless it is already DESTROYED. */
    Optional<VmRecord> transition(String id, VmState state, String detail) {
        Optional<VmRecord> result = update(id, vm -> vm.state() == VmState.DESTROYED ? vm : vm.withState(state, detail));
        if (state == VmState.DESTROYED) {
            pruneHistory();
        }
        return result;
    }

    private void pruneHistory() {
        List<VmRecord> gone = rows.values().stream().filter(vm -> !vm.state().occupiesHost()).sorted(OLDEST_FIRST).toList();
        for (int i = 0; i < gone.size() - HISTORY_LIMIT; i++) {
            rows.remove(gone.get(i).id());
        }
    }
}
