package org.servicefarm.placement.cheapest.internal;

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
 * Places a new VM on the candidate host whose hour costs least, filling cheap hosts before dear ones.
 * <p>
 * Cost weighs 1 and load 0.001, so among hosts of the same price the least loaded wins (equally cheap hosts fill
 * evenly) and a price difference outweighs any load difference unless it is below a thousandth of the dearest
 * host's price; then the host name, so the same farm always gets the same answer.
 */
@Component(configurationPid = CheapestPlacement.PID, property = "service.ranking:Integer=50")
@Designate(ocd = CheapestPlacement.Config.class)
@PlacementName("cheapest")
public class CheapestPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.cheapest";
    static final Weights WEIGHTS = new Weights(Map.of(Weigher.COST, 1.0, Weigher.LOAD, 0.001));

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

    @Override
    public Iterator<Candidate> rank(PlacementRequest request, HostView hosts) {
        return hosts.ranked(WEIGHTS, request);
    }
}
