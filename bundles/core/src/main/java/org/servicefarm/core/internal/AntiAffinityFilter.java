package org.servicefarm.core.internal;

import java.util.Optional;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: replicas of one offering go to different hosts, so that one host's failure takes at most
 * {@code maxReplicasPerHost} of them down.
 */
@Component(service = HostFilter.class, configurationPid = AntiAffinityFilter.PID,
        property = HostFilter.COST + ":Integer=40")
@Designate(ocd = AntiAffinityFilter.Config.class)
@FilterName("anti-affinity")
public class AntiAffinityFilter implements HostFilter {

    static final String PID = "org.servicefarm.filter.antiaffinity";

    @ObjectClassDefinition(name = "ServiceFarm anti-affinity filter",
            description = "Keeps replicas of one offering on different hosts.")
    public @interface Config {
        @AttributeDefinition(name = "replicas per host", description = "The most VMs of one offering a host may "
                + "hold; 1 puts every replica on a host of its own.")
        int maxReplicasPerHost() default 1;
    }

    private final ConfiguredSettings<Config, Integer> maxPerHost = new ConfiguredSettings<>(PID, Config.class,
            c -> Math.max(1, c.maxReplicasPerHost()));

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        maxPerHost.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        maxPerHost.close();
    }

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        int most = maxPerHost.inForce();
        int replicas = 0;
        for (String holder : request.replicaHosts()) { // a handful: the offering's replicas
            if (holder.equals(host.name())) {
                replicas++;
            }
        }
        if (replicas >= most) {
            return Optional.of("holds " + replicas + " replica(s) of " + request.offering().key() + " already (at most "
                    + most + " per host)");
        }
        return Optional.empty();
    }
}
