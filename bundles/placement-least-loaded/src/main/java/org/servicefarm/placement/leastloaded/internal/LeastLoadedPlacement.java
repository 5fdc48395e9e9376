package org.servicefarm.placement.leastloaded.internal;

import java.util.Iterator;
import java.util.Map;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.HostView;
import org.servicefarm.api.placement.PlacementName;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;

/**
 * Places a new VM on the least loaded host, so that load spreads evenly over the farm.
 * <p>
 * Load is the host's largest share of any resource in use now (vCPUs, memory, VM slots), as the core's index orders
 * hosts by it (weight 1). Room left weighs 0.01: among equally loaded hosts the one with more free VM slots wins (a
 * big idle host before a small idle one), and it outweighs a load difference only below a hundredth. Then the host
 * name, so the same farm always gets the same answer.
 */
@Component(configurationPid = LeastLoadedPlacement.PID, property = "service.ranking:Integer=100")
@Designate(ocd = LeastLoadedPlacement.Config.class)
@PlacementName("least-loaded")
public class LeastLoadedPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.leastloaded";
    static final Weights WEIGHTS = new Weights(Map.of(Weigher.LOAD, 1.0, Weigher.ROOM, 0.01));

    /**
     * The strategy itself has nothing to tune; its configuration only sets the service ranking,
     * which DS copies onto the service so that the operator decides which strategy wins when
     * the core's placement target matches more than one.
     */
    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: least-loaded",
            description = "Places a new VM on the least loaded candidate host.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force. The default, 100, makes least-loaded the "
                        + "strategy in force when no target is configured.")
        int service_ranking() default 100;
    }

    @Override
    public Iterator<Candidate> rank(PlacementRequest request, HostView hosts) {
        return hosts.ranked(WEIGHTS, request);
    }
}
