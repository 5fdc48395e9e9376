package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import org.servicefarm.api.Offering;
import org.servicefarm.api.store.DemandCounts;

/**
 * The store's request counts for a replay of one appliance: requests per offering and minute, kept a day as the JDBC
 * store keeps them; no other appliance, so {@link #others} is empty.
 */
final class SimulatedDemand implements DemandCounts {

    private final NavigableMap<Long, Map<Offering, Long>> byMinute = new TreeMap<>();

    @Override
    public void add(Offering offering, long minute) {
        byMinute.computeIfAbsent(minute, m -> new HashMap<>()).merge(offering, 1L, Long::sum);
        byMinute.headMap(minute - JDBC_KEEP_MINUTES, false).clear();
    }

    /** As the JDBC store: rows older than a day are deleted. */
    static final long JDBC_KEEP_MINUTES = 24 * 60;

    @Override
    public List<Asked> others(long fromMinute) {
        return List.of();
    }

    @Override
    public long othersAsked(Offering offering, long fromMinute) {
        return 0;
    }

    @Override
    public List<Asked> history(long fromMinute) {
        List<Asked> history = new ArrayList<>();
        byMinute.tailMap(fromMinute, true).forEach((minute, offerings) -> offerings.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(java.util.Comparator.comparing(Offering::key)))
                .forEach(e -> history.add(new Asked(e.getKey(), minute, e.getValue()))));
        return history;
    }
}
