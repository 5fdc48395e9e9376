package org.servicefarm.core.internal;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Offering;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weights;

/**
 * One placement decision of the real core: {@link Placement#place} over a {@link HostIndex} of {@code hosts} hosts
 * with 10 VMs each, every filter of the core registered as DS registers them (drained, health, capacity,
 * security-zone, anti-affinity), the room reserved on the host chosen and given back at once (so the farm stays as
 * it was). The strategy ranks by a blend of weighers, as the strategy bundles do ({@code hosts.ranked(weights)}).
 * <p>
 * The farm: 5% of the hosts in an isolated zone ({@code high}); three sizes (16, 24 and 32 VM slots, a vCPU and
 * 1 GiB per slot); costs spread from 0.05 to 1.00; speeds 1, 1.5 and 2; one host in a hundred drained and one in a
 * hundred with a failing driver. Requests: 19 in 20 at level standard, 1 in 20 high; each names two replica hosts
 * (anti-affinity); VMs of one vCPU and 1 GiB.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PlacementBenchmark {

    /** The blends the strategies rank by, by strategy name. */
    static final Map<String, String> BLENDS = Map.of("least-loaded", "load:1 room:0.01", "cheapest", "cost:1 load:0.001",
            "binpack", "fill:1", "spread", "replicas:1 vms:0.1", "weighted", "load:1 cost:1 speed:0.5");
    private static final int REQUESTS = 4096;

    @Param({"1000", "10000", "100000"})
    public int hosts;

    @Param({"weighted"})
    public String strategy;

    Placement placement;
    HostIndex index;
    PlacementRequest[] requests;

    @Setup(Level.Trial)
    public void buildFarm() {
        Random random = new Random(7);
        index = new HostIndex();
        placement = new Placement();
        placement.index = index;
        placement.configure(convert(Map.of(), Placement.Config.class), null);
        HealthFilter health = new HealthFilter();
        health.configure(convert(Map.of(), HealthFilter.Config.class), null);
        SecurityZoneFilter zones = new SecurityZoneFilter();
        zones.configure(convert(Map.of(), SecurityZoneFilter.Config.class));
        AntiAffinityFilter antiAffinity = new AntiAffinityFilter();
        antiAffinity.configure(convert(Map.of(), AntiAffinityFilter.Config.class), null);
        filter(new DrainedFilter(), "drained", 5);
        filter(health, "health", 10);
        filter(new CapacityFilter(), "capacity", 20);
        filter(zones, "security-zone", 30);
        filter(antiAffinity, "anti-affinity", 40);
        Weights weights = Weights.parse(BLENDS.get(strategy));
        placement.bindStrategy((request, view) -> view.ranked(weights, request),
                Map.of(PlacementStrategy.NAME, strategy));

        Capacity vm = new Capacity(1, 1024, 1);
        String[] names = new String[hosts];
        for (int i = 0; i < hosts; i++) {
            String name = String.format("host-%06d", i);
            names[i] = name;
            int slots = 16 + 8 * random.nextInt(3);
            boolean high = random.nextInt(20) == 0;
            index.configure(new HostRecord(name, "bench", "bench:///" + name, new Capacity(slots, slots * 1024L, slots),
                    0.05 + random.nextInt(96) * 0.01, high ? "high" : "standard", Map.of(),
                    1 + random.nextInt(3) * 0.5));
            index.connection(name, true, null, null);
            for (int v = 0; v < 10; v++) {
                index.occupy(name, vm, high ? "high" : "standard");
            }
            if (random.nextInt(100) == 0) {
                index.drain(name, true);
            }
            if (random.nextInt(100) == 0) {
                for (int f = 0; f < 3; f++) {
                    index.failed(name, "define: the hypervisor refused");
                }
            }
        }
        Environment environment = new Environment("debian-12", "nginx-1.26", "php-8.2", List.of());
        requests = new PlacementRequest[REQUESTS];
        for (int r = 0; r < REQUESTS; r++) {
            String level = random.nextInt(20) == 0 ? "high" : "standard";
            Offering offering = new Offering("app" + random.nextInt(50), "1.0", environment, level);
            requests[r] = new PlacementRequest(offering, "standard", vm,
                    List.of(names[random.nextInt(hosts)], names[random.nextInt(hosts)]));
        }
    }

    private void filter(HostFilter filter, String name, int cost) {
        placement.addFilter(filter, Map.of(HostFilter.NAME, name, HostFilter.COST, cost));
    }

    private static <T> T convert(Map<String, Object> map, Class<T> type) {
        return Converters.standardConverter().convert(map).to(type);
    }

    /** Each thread walks the requests from its own place. */
    @State(Scope.Thread)
    public static class Cursor {
        int next = new Random().nextInt(REQUESTS);
    }

    /** One decision: rank, filter, reserve on the host chosen; then the room is given back. */
    @Benchmark
    public Object decide(Cursor cursor) {
        PlacementRequest request = requests[cursor.next++ & (REQUESTS - 1)];
        Placement.Decision decision = placement.place(request);
        if (decision.host().isEmpty()) {
            throw new IllegalStateException("no host: " + decision.reason());
        }
        placement.release(decision.host().get().name(), request);
        return decision;
    }
}
