package org.servicefarm.placement.leastloaded.internal;

import java.util.Collections;
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
 * Places a new VM where it leaves the host least loaded, so that load spreads evenly over the farm.
 * <p>
 * Load is the host's largest share of any resource (vcpus, memory, VM count) once the new VM is
 * counted, so a big host with a few VMs beats a small one with the same few. Among equally loaded
 * hosts the one holding fewer replicas of the same offering wins (a host failure then takes fewer
 * copies down), then the host name, so the same farm always gets the same answer.
 */
@Component(configurationPid = LeastLoadedPlacement.PID, property = "service.ranking:Integer=100")
@Designate(ocd = LeastLoadedPlacement.Config.class)
@PlacementName("least-loaded")
public class LeastLoadedPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.leastloaded";

    /**
     * The strategy itself has nothing to tune; its configuration only sets the service ranking,
     * which DS copies onto the service so that the operator decides which strategy wins when
     * the core's placement target matches more than one.
     */
    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: least-loaded",
            description = "Places a new VM on the candidate host left least loaded by it.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force. The default, 100, makes least-loaded the "
                        + "strategy in force when no target is configured.")
        int service_ranking() default 100;
    }

    @Override
    public Optional<HostStatus> choose(PlacementRequest request, List<HostStatus> candidates) {
        // The contract promises candidates, but an empty list must not become an exception here.
        if (candidates == null || candidates.isEmpty()) {
            return Optional.empty();
        }
        Comparator<HostStatus> leastLoadedFirst = Comparator
                .comparingDouble((HostStatus host) -> loadAfterPlacement(host, request))
                .thenComparingInt(host -> replicasOn(host, request))
                .thenComparing(HostStatus::name);
        // A host that cannot hold the demand will not do, even if no capacity filter said so.
        return candidates.stream()
                .filter(host -> host.free().fits(request.demand()))
                .min(leastLoadedFirst);
    }

    static double loadAfterPlacement(HostStatus host, PlacementRequest request) {
        return host.host().capacity().loadOf(host.used().plus(request.demand()));
    }

    static int replicasOn(HostStatus host, PlacementRequest request) {
        return Collections.frequency(request.replicaHosts(), host.name());
    }
}
