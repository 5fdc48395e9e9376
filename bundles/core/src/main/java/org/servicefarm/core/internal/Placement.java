package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.HostView;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses a host and reserves room there. The zones every {@link HostFilter} admits are put in view; the one
 * {@link PlacementStrategy} in force ranks their hosts; the core draws from that ranking, checks every filter on
 * each host drawn (cheapest filter first) and reserves room on the first that passes with a compare-and-set on the
 * host's status ({@link HostIndex#tryReserve}). If the host changed meanwhile its filters are checked again on its
 * new state, so every hard constraint holds for the VM placed, without a global lock.
 * <p>
 * The strategy is chosen by {@code placement.target} and may change at any time: a decision reads it once, so
 * requests in flight finish on the strategy they started with. While no strategy matches (one is being swapped for
 * another), or if the one in force fails, the core ranks by load itself, so no request fails for want of a strategy.
 */
@Component(service = Placement.class, configurationPid = Placement.PID, property = RefusedConfiguration.WITHOUT
        + "placement=the core places on the least loaded host itself (" + Placement.FALLBACK_NAME + ")")
@Designate(ocd = Placement.Config.class)
public class Placement {

    static final String PID = "org.servicefarm.placement";
    private static final Logger LOG = LoggerFactory.getLogger(Placement.class);

    @ObjectClassDefinition(name = "ServiceFarm placement",
            description = "Which placement strategy chooses the host for a new VM, and how decisions are explained.")
    public @interface Config {
        @AttributeDefinition(name = "placement strategy", description = "An LDAP filter over the placement "
                + "strategies' service properties choosing the one in force, e.g. (placement.name=cheapest). "
                + "Among several matches the highest service.ranking wins. Takes effect without a restart; while "
                + "none matches, the core places on the least loaded host itself.")
        String placement_target() default "(placement.name=least-loaded)";

        @AttributeDefinition(name = "explained candidates", description = "How many of the best candidate hosts an "
                + "explanation lists with their scores.")
        int explain_candidates() default 5;
    }

    /** The outcome of a placement: the host (room for the VM is reserved there), or why there is none. */
    record Decision(Optional<HostStatus> host, String strategy, String reason) {
    }

    /** The strategy in force with its name, swapped as one so a decision never mixes two. */
    private record Bound(PlacementStrategy strategy, String name) {
    }

    /** A filter with what the explanations call it, in the order filters run. */
    private record Filter(HostFilter filter, String name, int cost) {
        static final Comparator<Filter> CHEAPEST_FIRST =
                Comparator.comparingInt(Filter::cost).thenComparing(Filter::name);
    }

    static final String FALLBACK_NAME = "built-in least-loaded";
    private static final Bound FALLBACK =
            new Bound((request, hosts) -> hosts.ranked(Weights.of(Weigher.LOAD), request), FALLBACK_NAME);

    @Reference
    HostIndex index;

    private volatile Bound bound = FALLBACK;
    private volatile List<Filter> filters = List.of();
    private final ConfiguredSettings<Config, Integer> explained = new ConfiguredSettings<>(PID, Config.class,
            c -> Math.max(1, c.explain_candidates()));

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        explained.accept(context, config);
        // the target filter is applied by DS, which rebinds 'placement' without deactivating us
    }

    @Deactivate
    void deactivate() {
        explained.close();
    }

    @Reference(name = "placement", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindStrategy(PlacementStrategy newStrategy, Map<String, Object> properties) {
        bound = new Bound(newStrategy, String.valueOf(properties.get(PlacementStrategy.NAME)));
    }

    synchronized void unbindStrategy(PlacementStrategy oldStrategy) {
        if (bound.strategy() == oldStrategy) {
            bound = FALLBACK;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    synchronized void addFilter(HostFilter filter, Map<String, Object> properties) {
        Object cost = properties.get(HostFilter.COST);
        List<Filter> next = new ArrayList<>(filters);
        next.add(new Filter(filter, String.valueOf(properties.getOrDefault(HostFilter.NAME,
                filter.getClass().getSimpleName())), cost instanceof Number n ? n.intValue() : 100));
        next.sort(Filter.CHEAPEST_FIRST);
        filters = List.copyOf(next);
    }

    synchronized void removeFilter(HostFilter filter) {
        filters = filters.stream().filter(f -> f.filter() != filter).toList();
    }

    /**
     * Chooses a host and reserves room for the VM there. The caller records the VM in the state table with
     * {@link StateTable#putReserved}, or gives the room back with {@link #release}.
     */
    Decision place(PlacementRequest request) {
        return place(request, Set.of());
    }

    /**
     * Like {@link #place(PlacementRequest)}, but a host of {@code preferred} that passes every filter is taken before
     * the strategy's choice: the hosts that hold a checkpoint of the VM's image, where it starts in a fraction of a
     * boot.
     */
    Decision place(PlacementRequest request, Set<String> preferred) {
        return place(request, preferred, Map.of());
    }

    /**
     * Like {@link #place(PlacementRequest, Set)}, but on none of the hosts of {@code failedOn} (host to why): the
     * hosts where creating this VM failed just now, so a creation goes on to the next host.
     */
    Decision place(PlacementRequest request, Set<String> preferred, Map<String, String> failedOn) {
        List<Filter> checks = filters;
        if (!failedOn.isEmpty()) {
            checks = new ArrayList<>(checks);
            checks.add(0, new Filter((host, placing) -> Optional.ofNullable(failedOn.get(host.name()))
                    .map(why -> "creating this VM failed there just now: " + why), "failed-here", Integer.MIN_VALUE));
        }
        Draw draw = draw(request, 1, true, preferred, checks);
        if (!draw.passed.isEmpty()) {
            return new Decision(Optional.of(draw.passed.get(0).host()), draw.strategy, null);
        }
        return new Decision(Optional.empty(), draw.strategy, draw.reason());
    }

    /** Gives back the room {@link #place} reserved on {@code host} for a VM that will not be recorded. */
    void release(String host, PlacementRequest request) {
        index.vacate(host, request.demand(), request.offering().securityLevel());
    }

    /** How {@link #place} would decide now, without reserving anything. */
    PlacementExplanation explain(PlacementRequest request) {
        return explain(request, Set.of());
    }

    /** How {@link #place(PlacementRequest, Set)} would decide now, without reserving anything. */
    PlacementExplanation explain(PlacementRequest request, Set<String> preferred) {
        Draw draw = draw(request, explained.inForce(), false, preferred);
        List<PlacementExplanation.Removal> removed = new ArrayList<>();
        draw.removed.forEach((filter, tally) -> removed.add(new PlacementExplanation.Removal(filter, tally.hosts,
                tally.example)));
        return new PlacementExplanation(draw.strategy, index.size(), draw.examined, removed, draw.passed,
                draw.passed.isEmpty() ? null : draw.passed.get(0).name(), draw.passed.isEmpty() ? draw.reason() : null);
    }

    /**
     * The first {@code wanted} hosts a new VM of the request would go to now, in the order the strategy in force ranks
     * them, among those {@code eligible} admits (else removed as {@code ineligible}): where to make something for the
     * offering's next VMs ahead of them, such as its checkpoints. Every filter applies; nothing is reserved.
     */
    List<HostStatus> candidates(PlacementRequest request, int wanted, java.util.function.Predicate<HostStatus> eligible,
                                String ineligible) {
        List<Filter> checks = new ArrayList<>(filters);
        checks.add(new Filter((host, placing) -> eligible.test(host) ? Optional.empty() : Optional.of(ineligible),
                "eligible", Integer.MAX_VALUE));
        return draw(request, wanted, false, Set.of(), checks).passed.stream().map(Candidate::host).toList();
    }

    /** What one filter removed. */
    private static final class Tally {
        int hosts;
        String example;
    }

    /** The result of drawing candidates from a ranking. */
    private final class Draw {
        String strategy;
        int examined;
        final List<Candidate> passed = new ArrayList<>();
        final Map<String, Tally> removed = new LinkedHashMap<>();

        void remove(String filter, int hosts, String example) {
            Tally tally = removed.computeIfAbsent(filter, k -> new Tally());
            tally.hosts += hosts;
            if (tally.example == null) {
                tally.example = example;
            }
        }

        String reason() {
            if (index.size() == 0) {
                return "no host is configured";
            }
            StringBuilder why = new StringBuilder("no host can take the VM (" + strategy + " ranked "
                    + examined + " of " + index.size() + " hosts):");
            removed.forEach((filter, tally) -> why.append(" ").append(filter).append(" removed ").append(tally.hosts)
                    .append(" (e.g. ").append(tally.example).append(");"));
            if (removed.isEmpty()) {
                why.append(" none has room that could be reserved;");
            }
            return why.substring(0, why.length() - 1);
        }
    }

    /**
     * Draws hosts from the ranking of the strategy in force until {@code wanted} pass every filter (and, with
     * {@code reserve}, room is reserved on the first). One piece of code for deciding and for explaining, so an
     * explanation says what a decision would do.
     */
    private Draw draw(PlacementRequest request, int wanted, boolean reserve, Set<String> preferred) {
        return draw(request, wanted, reserve, preferred, filters);
    }

    private Draw draw(PlacementRequest request, int wanted, boolean reserve, Set<String> preferred,
                      List<Filter> checks) {
        Bound inForce = bound;
        Draw draw = new Draw();
        draw.strategy = inForce.name();
        List<String> zones = new ArrayList<>();
        for (String zone : index.zones()) {
            Filter excluding = zoneExcluder(checks, zone, request);
            if (excluding == null) {
                zones.add(zone);
            } else {
                draw.remove(excluding.name(), index.zoneSize(zone), "zone " + zone + " is not admitted");
            }
        }
        HostView view = index.view(zones);
        String level = request.offering().securityLevel();
        // a handful at most (the hosts holding the image's checkpoint), the least used first
        List<HostStatus> favoured = preferred.stream().map(index::slotOf).filter(Objects::nonNull)
                .map(slot -> slot.status.get()).filter(status -> zones.contains(status.host().securityZone()))
                .sorted(Comparator.comparingInt((HostStatus status) -> status.used().vms())
                        .thenComparing(HostStatus::name)).toList();
        for (HostStatus status : favoured) {
            if (draw.passed.size() >= wanted) {
                break;
            }
            draw.examined++;
            examine(new Candidate(status, 1.0, Map.of()), request, draw, checks, reserve, level);
        }
        if (!draw.passed.isEmpty() && !favoured.isEmpty()) {
            draw.strategy = draw.strategy + ", preferring a host with the image's checkpoint";
        }
        Iterator<Candidate> ranking = rank(inForce, request, view, draw);
        while (draw.passed.size() < wanted) {
            Candidate candidate;
            try {
                if (!ranking.hasNext()) {
                    break;
                }
                candidate = ranking.next();
            } catch (RuntimeException e) { // a strategy going away mid-draw: finish on the core's own ranking
                LOG.warn("Placement strategy {} failed while ranking; ranking by load instead", draw.strategy, e);
                draw.strategy = FALLBACK_NAME + " (" + draw.strategy + " failed: " + e + ")";
                ranking = FALLBACK.strategy().rank(request, view);
                continue;
            }
            if (preferred.contains(candidate.name())) {
                continue; // examined first
            }
            draw.examined++;
            examine(candidate, request, draw, checks, reserve, level);
        }
        return draw;
    }

    /** Checks one candidate against every filter and, with {@code reserve}, reserves room on it; adds it if it passes. */
    private void examine(Candidate candidate, PlacementRequest request, Draw draw, List<Filter> checks, boolean reserve,
                         String level) {
        HostIndex.Slot slot = index.slotOf(candidate.name());
        while (slot != null) {
            HostStatus status = slot.status.get();
            Optional<String> rejection = Optional.empty();
            Filter rejecting = null;
            for (Filter filter : checks) {
                rejection = reject(filter, status, request);
                if (rejection.isPresent()) {
                    rejecting = filter;
                    break;
                }
            }
            if (rejecting != null) {
                draw.remove(rejecting.name(), 1, status.name() + ": " + rejection.get());
                return;
            }
            if (!reserve) {
                draw.passed.add(candidate);
                return;
            }
            if (index.tryReserve(slot, status, request.demand(), level)) {
                draw.passed.add(new Candidate(slot.status.get(), candidate.score(), candidate.scores()));
                return;
            }
            if (slot.status.get() == status) { // unchanged, so it cannot take the VM: no filter said why
                draw.remove("reservation", 1, status.name() + ": no room could be reserved");
                return;
            }
            // the host changed since its filters were checked: check them again on its new state
        }
    }

    private static Iterator<Candidate> rank(Bound inForce, PlacementRequest request, HostView view, Draw draw) {
        try {
            return inForce.strategy().rank(request, view);
        } catch (RuntimeException e) {
            LOG.warn("Placement strategy {} failed; ranking by load instead", inForce.name(), e);
            draw.strategy = FALLBACK_NAME + " (" + inForce.name() + " failed: " + e + ")";
            return FALLBACK.strategy().rank(request, view);
        }
    }

    private static Filter zoneExcluder(List<Filter> checks, String zone, PlacementRequest request) {
        for (Filter filter : checks) {
            try {
                if (!filter.filter().admitsZone(zone, request)) {
                    return filter;
                }
            } catch (RuntimeException e) {
                LOG.warn("Host filter {} failed on zone {}; the zone's hosts are checked one by one", filter.name(),
                        zone, e);
            }
        }
        return null;
    }

    /** A filter that fails rejects: a hard constraint that cannot be checked is not known to hold. */
    private static Optional<String> reject(Filter filter, HostStatus status, PlacementRequest request) {
        try {
            return filter.filter().reject(status, request);
        } catch (RuntimeException e) {
            return Optional.of("the filter failed: " + e);
        }
    }
}
