package org.servicefarm.placement.weighted.internal;

import java.util.Iterator;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.HostView;
import org.servicefarm.api.placement.PlacementName;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.PlacementStrategy;
import org.servicefarm.api.placement.Weights;

/**
 * Places a new VM by a weighted blend of weighers the operator configures, e.g. {@code load:1 cost:1 speed:0.5}:
 * a host's score is one minus the weighted mean of its weighers' penalties; equal scores go by host name. A change
 * of the weights applies to the next placement.
 */
@Component(configurationPid = WeightedPlacement.PID, property = "service.ranking:Integer=10")
@Designate(ocd = WeightedPlacement.Config.class)
@PlacementName("weighted")
public class WeightedPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.weighted";

    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: weighted",
            description = "Places a new VM by a weighted blend of weighers.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force.")
        int service_ranking() default 10;

        @AttributeDefinition(name = "weights", description = "Weigher:weight pairs separated by spaces, commas or "
                + "'+'. Weighers: load (emptier hosts), fill (fuller hosts), room (more free VM slots), cost "
                + "(cheaper hosts), speed (faster hosts), vms (hosts with fewer VMs), replicas (hosts with fewer replicas of the offering). A "
                + "weigher left out weighs nothing.")
        String weights() default "load:1 cost:1";
    }

    private final ConfiguredSettings<Config, Weights> weights = new ConfiguredSettings<>(PID, Config.class,
            config -> Weights.parse(config.weights()));

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        weights.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        weights.close();
    }

    @Override
    public Iterator<Candidate> rank(PlacementRequest request, HostView hosts) {
        return hosts.ranked(weights.inForce(), request);
    }
}
