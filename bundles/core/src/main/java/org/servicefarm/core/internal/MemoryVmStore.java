package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.store.VmStore;

/**
 * The VM store in memory: rows in a concurrent map, each change atomic per row ({@link Map#compute}), and an index of
 * the rows that occupy a host by offering, so the warm request path reads a few rows, never the history. Ranked
 * lowest: a database store registered beside it wins.
 */
@Component(service = VmStore.class, property = {"service.ranking:Integer=0", VmStore.NAME + "=memory"})
public class MemoryVmStore implements VmStore {

    /** DESTROYED and FAILED rows kept as history; older ones are dropped. */
    static final int HISTORY_LIMIT = 1000;
    private static final Comparator<VmRecord> OLDEST_FIRST =
            Comparator.comparing(VmRecord::createdAt).thenComparing(VmRecord::id);

    private final Map<String, VmRecord> rows = new ConcurrentHashMap<>();

    @Override
    public String description() {
        return "in memory (lost when the appliance stops)";
    }

    private final Map<Offering, Map<String, VmRecord>> liveByOffering = new ConcurrentHashMap<>();

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

    @Override
    public List<VmRecord> occupying() {
        List<VmRecord> result = new ArrayList<>();
        liveByOffering.values().forEach(live -> result.addAll(live.values()));
        return result;
    }

    @Override
    public boolean insert(VmRecord vm) {
        boolean[] added = {false};
        rows.compute(vm.id(), (k, old) -> {
            if (old != null) {
                return old;
            }
            added[0] = true;
            return index(vm);
        });
        if (added[0] && !vm.state().occupiesHost()) {
            pruneHistory();
        }
        return added[0];
    }

    @Override
    public Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change) {
        AtomicReference<Change> done = new AtomicReference<>();
        rows.computeIfPresent(id, (k, row) -> {
            if (row.state() != expected) {
                return row;
            }
            VmRecord changed = change.apply(row);
            if (changed == null) {
                return row;
            }
            VmRecord after = changed.state() == next ? changed : changed.withState(next, changed.detail());
            done.set(new Change(row, after));
            return index(after);
        });
        Change result = done.get();
        if (result != null && !result.after().state().occupiesHost() && result.before().state().occupiesHost()) {
            pruneHistory();
        }
        return Optional.ofNullable(result);
    }

    @Override
    public Optional<VmRecord> remove(String id, VmState expected) {
        AtomicReference<VmRecord> removed = new AtomicReference<>();
        rows.computeIfPresent(id, (k, row) -> {
            if (row.state() != expected) {
                return row;
            }
            removed.set(row);
            unindex(row);
            return null;
        });
        return Optional.ofNullable(removed.get());
    }

    /** Keeps the live index in step with a row; called inside the row's atomic change. */
    private VmRecord index(VmRecord vm) {
        if (vm.state().occupiesHost()) {
            // put inside compute: a concurrent removal of the last row must not drop the map under us
            liveByOffering.compute(vm.offering(), (k, live) -> {
                Map<String, VmRecord> rowsOfOffering = live == null ? new ConcurrentHashMap<>() : live;
                rowsOfOffering.put(vm.id(), vm);
                return rowsOfOffering;
            });
        } else {
            unindex(vm);
        }
        return vm;
    }

    private void unindex(VmRecord vm) {
        liveByOffering.computeIfPresent(vm.offering(), (k, live) -> {
            live.remove(vm.id());
            return live.isEmpty() ? null : live;
        });
    }

    private void pruneHistory() {
        List<VmRecord> gone = rows.values().stream().filter(vm -> !vm.state().occupiesHost()).sorted(OLDEST_FIRST)
                .toList();
        for (int i = 0; i < gone.size() - HISTORY_LIMIT; i++) {
            remove(gone.get(i).id(), gone.get(i).state());
        }
    }
}
