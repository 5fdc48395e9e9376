package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;

/**
 * Chooses a host: every {@link HostFilter} applies, then the one {@link PlacementStrategy} in
 * force picks. The strategy is chosen by {@code placement.target} and may change at any time:
 * a decision reads it once, so requests in flight finish on the strategy they started with.
 */
@Component(service = Placement.class, configurationPid = Placement.PID)
@Designate(ocd = Placement.Config.class)
public class Placement {

    static final String PID = "org.servicefarm.placement";

    @ObjectClassDefinition(name = "ServiceFarm placement",
            description = "Which placement strategy chooses the host for a new VM.")
    public @interface Config {
        @AttributeDefinition(name = "placement strategy", description = "An LDAP filter over the placement "
                + "strategies' service properties choosing the one in force, e.g. (placement.name=cheapest). "
                + "Among several matches the highest service.ranking wins. Takes effect without a restart.")
        String placement_target() default "(placement.name=least-loaded)";
    }

    /** The outcome of a placement: a host, or why there is none (each rejected host with its reason). */
    record Decision(Optional<HostStatus> host, String strategy, String reason) {
    }

    /** The strategy in force with its name, swapped as one so a decision never mixes two. */
    private record Bound(PlacementStrategy strategy, String name) {
    }

    private static final Bound NONE = new Bound(null, "none");
    private volatile Bound bound = NONE;
    private final Map<HostFilter, String> filters = new ConcurrentHashMap<>();

    @Reference(name = "placement", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindStrategy(PlacementStrategy newStrategy, Map<String, Object> properties) {
        bound = new Bound(newStrategy, String.valueOf(properties.get(PlacementStrategy.NAME)));
    }

    synchronized void unbindStrategy(PlacementStrategy oldStrategy) {
        if (bound.strategy() == oldStrategy) {
            bound = NONE;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addFilter(HostFilter filter, Map<String, Object> properties) {
        filters.put(filter, String.valueOf(properties.getOrDefault(HostFilter.NAME, filter.getClass().getSimpleName())));
    }

    void removeFilter(HostFilter filter) {
        filters.remove(filter);
    }

    @Modified
    void modified() {
        // the target filter is applied by DS, which rebinds 'placement' without deactivating us
    }

    Decision place(PlacementRequest request, List<HostStatus> hosts) {
        Bound inForce = bound;
        PlacementStrategy current = inForce.strategy();
        String currentName = inForce.name();
        List<HostStatus> candidates = new ArrayList<>();
        List<String> rejections = new ArrayList<>();
        for (HostStatus host : hosts) {
            Optional<String> rejection = Optional.empty();
            for (Map.Entry<HostFilter, String> filter : filters.entrySet()) {
                rejection = filter.getKey().reject(host, request);
                if (rejection.isPresent()) {
                    rejections.add(host.name() + ": " + rejection.get() + " (" + filter.getValue() + ")");
                    break;
                }
            }
            if (rejection.isEmpty()) {
                candidates.add(host);
            }
        }
        if (candidates.isEmpty()) {
            return new Decision(Optional.empty(), currentName, hosts.isEmpty() ? "no host is configured"
                    : "no host can take the VM: " + String.join("; ", rejections));
        }
        if (current == null) {
            return new Decision(Optional.empty(), currentName, "no placement strategy is in force (check "
                    + PID + " placement.target and the installed placement features)");
        }
        Optional<HostStatus> chosen = current.choose(request, List.copyOf(candidates));
        return new Decision(chosen, currentName, chosen.isPresent() ? null
                : "placement strategy " + currentName + " chose none of " + candidates.size() + " candidate hosts");
    }
}
