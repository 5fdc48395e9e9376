package org.servicefarm.api.store;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;

/**
 * The rows of a store's VMs that occupy a host, by offering: what {@link VmStore#offering} and
 * {@link VmStore#occupying} answer from, so the warm request path reads a few rows, never the history. Safe for
 * concurrent use; a store calls {@link #update} inside each row's atomic change.
 */
public final class LiveIndex {

    /** The order every store lists rows in: oldest first, then by id. */
    public static final Comparator<VmRecord> OLDEST_FIRST =
            Comparator.comparing(VmRecord::createdAt).thenComparing(VmRecord::id);

    private final Map<Offering, Map<String, VmRecord>> byOffering = new ConcurrentHashMap<>();

    /**
     * Keeps the index in step with a row that changed from {@code before} ({@code null} for a new row) to
     * {@code after}.
     *
     * @return {@code after}
     */
    public VmRecord update(VmRecord before, VmRecord after) {
        if (before != null && !before.offering().equals(after.offering())) {
            remove(before);
        }
        if (after.state().occupiesHost()) {
            // put inside compute: a concurrent removal of another row's last entry must not drop the map under us
            byOffering.compute(after.offering(), (k, live) -> {
                Map<String, VmRecord> ofOffering = live == null ? new ConcurrentHashMap<>() : live;
                ofOffering.put(after.id(), after);
                return ofOffering;
            });
        } else {
            remove(after);
        }
        return after;
    }

    /** Drops a row (removed, or no longer occupying a host). */
    public void remove(VmRecord vm) {
        byOffering.computeIfPresent(vm.offering(), (k, live) -> {
            live.remove(vm.id());
            return live.isEmpty() ? null : live;
        });
    }

    /** The offering's rows that occupy a host, oldest first. */
    public List<VmRecord> offering(Offering offering) {
        Map<String, VmRecord> live = byOffering.get(offering);
        if (live == null) {
            return List.of();
        }
        List<VmRecord> result = new ArrayList<>(live.values());
        result.sort(OLDEST_FIRST);
        return result;
    }

    /** Every row that occupies a host. */
    public List<VmRecord> occupying() {
        List<VmRecord> result = new ArrayList<>();
        byOffering.values().forEach(live -> result.addAll(live.values()));
        return result;
    }
}
