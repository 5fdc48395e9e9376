package org.servicefarm.placement.priority.internal;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

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
 * The customer's tier decides: each tier has its own blend of weighers. By default premium gets the fastest,
 * emptiest hosts ({@code speed:2 load:1}), standard balances load and cost ({@code load:1 cost:1}) and free gets the
 * cheapest ({@code cost:1}); a tier not configured gets {@code otherTiers}. Equal scores go by host name.
 */
@Component(configurationPid = PriorityPlacement.PID, property = "service.ranking:Integer=10")
@Designate(ocd = PriorityPlacement.Config.class)
@PlacementName("priority")
public class PriorityPlacement implements PlacementStrategy {

    static final String PID = "org.servicefarm.placement.priority";

    @ObjectClassDefinition(id = PID, name = "ServiceFarm placement: priority",
            description = "Places a new VM by a blend of weighers chosen by the request's customer tier.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking",
                description = "The ranking of this strategy among the placement strategies the core's target "
                        + "matches; the highest ranking is in force.")
        int service_ranking() default 10;

        @AttributeDefinition(name = "tiers", description = "Each tier's weights as tier=weigher:weight+weigher:weight, "
                + "comma-separated, e.g. premium=speed:2+load:1. Weighers: load, fill, room, cost, speed, vms, replicas.")
        String[] tiers() default {"premium=speed:2+load:1", "standard=load:1+cost:1", "free=cost:1"};

        @AttributeDefinition(name = "other tiers", description = "The weights of a tier the tiers setting does not "
                + "name, as weigher:weight pairs.")
        String otherTiers() default "load:1";
    }

    /** The weights of each tier, and of the others, swapped as one. */
    private record Table(Map<String, Weights> tiers, Weights others) {
    }

    private final ConfiguredSettings<Config, Table> table = new ConfiguredSettings<>(PID, Config.class,
            PriorityPlacement::table);

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        table.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        table.close();
    }

    /** @throws IllegalArgumentException for a setting that does not parse */
    static Table table(Config config) {
        Map<String, Weights> tiers = new HashMap<>();
        for (String value : config.tiers()) {
            for (String entry : value.split(",")) {
                if (entry.isBlank()) {
                    continue;
                }
                int equals = entry.indexOf('=');
                if (equals < 1) {
                    throw new IllegalArgumentException("tier setting '" + entry.trim() + "' must be tier=weights");
                }
                tiers.put(entry.substring(0, equals).trim(), Weights.parse(entry.substring(equals + 1)));
            }
        }
        return new Table(Map.copyOf(tiers), Weights.parse(config.otherTiers()));
    }

    /** The weights for a request of {@code tier}. */
    Weights weights(String tier) {
        Table t = table.inForce();
        return tier == null ? t.others() : t.tiers().getOrDefault(tier, t.others());
    }

    @Override
    public Iterator<Candidate> rank(PlacementRequest request, HostView hosts) {
        return hosts.ranked(weights(request.tier()), request);
    }
}
