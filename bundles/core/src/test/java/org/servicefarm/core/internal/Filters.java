package org.servicefarm.core.internal;

import java.util.LinkedHashMap;
import java.util.Map;

import org.servicefarm.api.placement.HostFilter;

/** The core's filters with their default configuration, by name, as DS would activate them. */
final class Filters {
    private Filters() {
    }

    static Map<String, HostFilter> all() {
        Map<String, HostFilter> filters = new LinkedHashMap<>();
        filters.put("drained", new DrainedFilter());
        filters.put("guest-kind", new GuestKindFilter());
        HealthFilter health = new HealthFilter();
        health.configure(Farm.convert(Map.of(), HealthFilter.Config.class), null);
        filters.put("health", health);
        SpaceFilter space = new SpaceFilter();
        space.configure(Farm.convert(Map.of(), SpaceFilter.Config.class), null);
        filters.put("space", space);
        filters.put("capacity", new CapacityFilter());
        SecurityZoneFilter zones = new SecurityZoneFilter();
        zones.configure(Farm.convert(Map.of(), SecurityZoneFilter.Config.class));
        filters.put("security-zone", zones);
        AntiAffinityFilter antiAffinity = new AntiAffinityFilter();
        antiAffinity.configure(Farm.convert(Map.of(), AntiAffinityFilter.Config.class), null);
        filters.put("anti-affinity", antiAffinity);
        return filters;
    }
}
