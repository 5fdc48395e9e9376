package org.servicefarm.placement.cheapest.internal;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.PlacementName;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;

/**
 * Places a new VM on the candidate host whose hour costs least, filling cheap hosts before dear ones.
 * <p>
 * Among hosts of the same price the one left least loaded by the new VM wins (so equally cheap
 * hosts fill evenly), then the host name, so the same farm always gets the same answer.
 */
@Component(configurationPid = CheapestPlacement.PID, property = "service.ranking:Integer=50")
@Designate(ocd = CheapestPlacement.Config.class)
@PlacementName("cheapest")
public class CheapestPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.cheapest";

    /**
     * The strategy itself has nothing to tune; its configuration only sets the service ranking,
     * which DS copies onto the service so that the operator decides which strategy wins when
     * the core's placement target matches more than one.
     */
    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: cheapest",
            description = "Places a new VM on the candidate host with the lowest cost per hour.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force. The default, 50, leaves least-loaded "
                        + "(100) in force unless the core's target names cheapest.")
        int service_ranking() default 50;
    }

    private static final Comparator<HostStatus> CHEAPEST_FIRST = Comparator
            .comparingDouble((HostStatus host) -> host.host().costPerHour());

    @Override
    public Optional<HostStatus> choose(PlacementRequest request, List<HostStatus> candidates) {
        // The contract promises candidates, but an empty list must not become an exception here.
        if (candidates == null || candidates.isEmpty()) {
            return Optional.empty();
        }
        Comparator<HostStatus> order = CHEAPEST_FIRST
                .thenComparingDouble(host -> loadAfterPlacement(host, request))
                .thenComparing(HostStatus::name);
        // A host that cannot hold the demand will not do, however cheap, even if no capacity filter said so.
        return candidates.stream()
                .filter(host -> host.free().fits(request.demand()))
                .min(order);
    }

    static double loadAfterPlacement(HostStatus host, PlacementRequest request) {
        return host.host().capacity().loadOf(host.used().plus(request.demand()));
    }
}
