package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * The state table, in memory. A component of its own so that reconfiguring the manager never
 * loses it. Rows change only through {@link #put} and {@link #update}, each atomic per VM.
 */
@Component(service = {StateTable.class, StateTableView.class})
public class StateTable implements StateTableView {

    /** DESTROYED rows kept as history; older ones are dropped. */
    static final int HISTORY_LIMIT = 1000;

    private final Map<String, VmRecord> rows = new ConcurrentHashMap<>();
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

    /** What the VMs on {@code host} take of it. */
    Capacity usedOn(String host) {
        Capacity used = Capacity.ZERO;
        for (VmRecord vm : occupying()) {
            if (vm.hostId().equals(host)) {
                used = used.plus(vm.resources());
            }
        }
        return used;
    }

    void put(VmRecord vm) {
        rows.compute(vm.id(), (k, old) -> index(vm));
        pruneHistory();
    }

    /** Applies {@code change} atomically to the row, if it exists; returns the new row. */
    Optional<VmRecord> update(String id, UnaryOperator<VmRecord> change) {
        return Optional.ofNullable(rows.computeIfPresent(id, (k, vm) -> index(change.apply(vm))));
    }

    /** Keeps the live index in step with a row; called inside the row's atomic update. */
    private VmRecord index(VmRecord vm) {
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
