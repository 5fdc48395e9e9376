package org.servicefarm.placement.spread.internal;

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
 * Fault tolerance: places a new VM where the fewest replicas of its offering are, so one host's failure takes the
 * fewest copies of a service down, and, among those, on the host running the fewest VMs of any kind, so a failure
 * takes the fewest VMs down.
 * <p>
 * Replicas weigh 1 and VMs 0.1 (the replica count is what spreading is for; the core's anti-affinity filter may
 * already forbid a second replica on a host); equal scores go by host name.
 */
@Component(configurationPid = SpreadPlacement.PID, property = "service.ranking:Integer=10")
@Designate(ocd = SpreadPlacement.Config.class)
@PlacementName("spread")
public class SpreadPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.spread";
    static final Weights WEIGHTS = new Weights(Map.of(Weigher.REPLICAS, 1.0, Weigher.VMS, 0.1));

    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: spread",
            description = "Places a new VM where the fewest replicas of its offering and the fewest VMs are.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force.")
        int service_ranking() default 10;
    }

    @Override
    public Iterator<Candidate> rank(PlacementRequest request, HostView hosts) {
        return hosts.ranked(WEIGHTS, request);
    }
}
