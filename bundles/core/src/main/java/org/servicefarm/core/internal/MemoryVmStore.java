package org.servicefarm.core.internal;

import java.util.ArrayList;
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
import org.servicefarm.api.store.LiveIndex;
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

    private final Map<String, VmRecord> rows = new ConcurrentHashMap<>();

    @Override
    public String description() {
        return "in memory (lost when the appliance stops)";
    }

    private final LiveIndex live = new LiveIndex();

    @Override
    public List<VmRecord> vms() {
        List<VmRecord> all = new ArrayList<>(rows.values());
        all.sort(LiveIndex.OLDEST_FIRST);
        return all;
    }

    @Override
    public Optional<VmRecord> vm(String id) {
        return Optional.ofNullable(id == null ? null : rows.get(id));
    }

    @Override
    public List<VmRecord> offering(Offering offering) {
        return live.offering(offering);
    }

    @Override
    public List<VmRecord> occupying() {
        return live.occupying();
    }

    @Override
    public boolean insert(VmRecord vm) {
        boolean[] added = {false};
        rows.compute(vm.id(), (k, old) -> {
            if (old != null) {
                return old;
            }
            added[0] = true;
            return live.update(null, vm);
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
            return live.update(row, after);
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
            live.remove(row);
            return null;
        });
        return Optional.ofNullable(removed.get());
    }

    private void pruneHistory() {
        List<VmRecord> gone = rows.values().stream().filter(vm -> !vm.state().occupiesHost())
                .sorted(LiveIndex.OLDEST_FIRST)
                .toList();
        for (int i = 0; i < gone.size() - HISTORY_LIMIT; i++) {
            remove(gone.get(i).id(), gone.get(i).state());
        }
    }
}
