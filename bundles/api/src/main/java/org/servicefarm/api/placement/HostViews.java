package org.servicefarm.api.placement;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.servicefarm.api.HostStatus;

/**
 * Host views over a plain collection of hosts, ranked by scoring every one: for tests of strategies and filters on
 * hand-built farms, and the reference the core's indexed ranking is checked against. Not for a real farm: each
 * ranking looks at every host.
 */
public final class HostViews {

    private HostViews() {
    }

    /** A view of {@code hosts}; {@link HostView#ranked} scores every host by the definitions of {@link Weigher}. */
    public static HostView of(Collection<HostStatus> hosts) {
        List<HostStatus> all = List.copyOf(hosts);
        return new HostView() {
            @Override
            public int size() {
                return all.size();
            }

            @Override
            public Set<String> zones() {
                Set<String> zones = new TreeSet<>();
                all.forEach(h -> zones.add(h.host().securityZone()));
                return zones;
            }

            @Override
            public Optional<HostStatus> host(String name) {
                return all.stream().filter(h -> h.name().equals(name)).findFirst();
            }

            @Override
            public Iterator<Candidate> ranked(Weights weights, PlacementRequest request) {
                return rank(all, weights, request).iterator();
            }
        };
    }

    private static List<Candidate> rank(List<HostStatus> hosts, Weights weights, PlacementRequest request) {
        Map<String, Integer> replicas = new HashMap<>();
        request.replicaHosts().forEach(h -> replicas.merge(h, 1, Integer::sum));
        double maxCost = hosts.stream().mapToDouble(h -> h.host().costPerHour()).max().orElse(0);
        double maxSpeed = hosts.stream().mapToDouble(h -> h.host().speed()).max().orElse(0);
        double maxVms = hosts.stream().mapToDouble(h -> h.used().vms()).max().orElse(0);
        double maxRoom = hosts.stream().mapToDouble(h -> h.free().vms()).max().orElse(0);
        double maxReplicas = replicas.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        double total = weights.weights().values().stream().mapToDouble(Double::doubleValue).sum();
        List<Map.Entry<Double, Candidate>> ranked = new ArrayList<>();
        for (HostStatus host : hosts) {
            Map<Weigher, Double> scores = new EnumMap<>(Weigher.class);
            double penalty = 0;
            for (Map.Entry<Weigher, Double> weight : weights.weights().entrySet()) {
                double load = Math.min(1, host.load());
                double p = switch (weight.getKey()) {
                    case LOAD -> load;
                    case FILL -> 1 - load;
                    case ROOM -> maxRoom > 0 ? 1 - host.free().vms() / maxRoom : 0;
                    case COST -> maxCost > 0 ? host.host().costPerHour() / maxCost : 0;
                    case SPEED -> maxSpeed > 0 ? 1 - host.host().speed() / maxSpeed : 0;
                    case VMS -> maxVms > 0 ? host.used().vms() / maxVms : 0;
                    case REPLICAS -> maxReplicas > 0 ? replicas.getOrDefault(host.name(), 0) / maxReplicas : 0;
                };
                scores.put(weight.getKey(), 1 - p);
                penalty += weight.getValue() * p;
            }
            ranked.add(Map.entry(penalty / total, new Candidate(host, 1 - penalty / total, scores)));
        }
        // by the penalty itself: scores rounded from two different penalties may be equal
        ranked.sort(Comparator.comparingDouble((Map.Entry<Double, Candidate> e) -> e.getKey())
                .thenComparing(e -> e.getValue().name()));
        return ranked.stream().map(Map.Entry::getValue).toList();
    }
}
