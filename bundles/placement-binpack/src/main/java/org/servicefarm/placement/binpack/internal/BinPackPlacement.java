package org.servicefarm.placement.binpack.internal;

import java.util.Iterator;

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
 * Bin-packing: places a new VM on the fullest host that can still hold it, so that other hosts stay empty (to be
 * powered down, or kept for large VMs). Full hosts are passed over (the core's capacity filter, and the index skips
 * hosts too full for any VM of the demand); equally full hosts go by name.
 */
@Component(configurationPid = BinPackPlacement.PID, property = "service.ranking:Integer=10")
@Designate(ocd = BinPackPlacement.Config.class)
@PlacementName("binpack")
public class BinPackPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.binpack";
    static final Weights WEIGHTS = Weights.of(Weigher.FILL);

    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: binpack",
            description = "Places a new VM on the fullest candidate host that holds it.")
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
