package org.servicefarm.core.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: isolated security levels run only on hosts of their own zone, and nothing else runs there, so a
 * high-security VM never shares a host with a lower one. With {@code separateLevels} no host ever runs VMs of two
 * security levels at once, in any zone. Zones are judged as a whole ({@link #admitsZone}), so the hosts of the
 * zones a request may not use are never looked at.
 */
@Component(service = {HostFilter.class, SecurityZoneFilter.class}, configurationPid = SecurityZoneFilter.PID,
        property = HostFilter.COST + ":Integer=30")
@Designate(ocd = SecurityZoneFilter.Config.class)
@FilterName("security-zone")
public class SecurityZoneFilter implements HostFilter {

    static final String PID = "org.servicefarm.filter.securityzone";

    @ObjectClassDefinition(name = "ServiceFarm security-zone filter",
            description = "Keeps isolated security levels on hosts of their own security zone, and optionally "
                    + "tenants of different security levels off one host.")
    public @interface Config {
        @AttributeDefinition(name = "isolated levels", description = "Security levels whose VMs run only on "
                + "hosts whose security zone has the same name, and whose hosts run nothing else; comma-separated.")
        String[] isolatedLevels() default {"high"};

        @AttributeDefinition(name = "separate levels", description = "When true, a host runs VMs of one security "
                + "level at a time: a VM goes only to a host that runs no VM of another level.")
        boolean separateLevels() default false;
    }

    private volatile List<String> isolated = List.of("high");
    private volatile boolean separate;

    @Activate
    @Modified
    void configure(Config config) {
        isolated = Lists.split(config.isolatedLevels());
        separate = config.separateLevels();
    }

    @Override
    public boolean admitsZone(String zone, PlacementRequest request) {
        return zoneRejection(zone, request.offering().securityLevel()) == null;
    }

    /** Why a host of {@code zone} may not serve security level {@code level} (the zone rule alone), or null. */
    String zoneRejectionOf(String zone, String level) {
        return zoneRejection(zone, level);
    }

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        String level = request.offering().securityLevel();
        String zoneRejection = zoneRejection(host.host().securityZone(), level);
        if (zoneRejection != null) {
            return Optional.of(zoneRejection);
        }
        if (separate) {
            for (Map.Entry<String, Integer> other : host.securityLevels().entrySet()) {
                if (!other.getKey().equals(level)) {
                    return Optional.of("runs " + other.getValue() + " VM(s) of security level " + other.getKey()
                            + ", and levels are kept apart");
                }
            }
        }
        return Optional.empty();
    }

    private String zoneRejection(String zone, String level) {
        if (isolated.contains(level) && !zone.equals(level)) {
            return "security level " + level + " runs only in zone " + level + ", host is in " + zone;
        }
        if (!isolated.contains(level) && isolated.contains(zone)) {
            return "zone " + zone + " is reserved for security level " + zone;
        }
        return null;
    }
}
