package org.servicefarm.core.internal;

import java.util.List;
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
 * Hard constraint: isolated security levels run only on hosts of their own zone, and nothing
 * else runs there, so a high-security VM never shares a host with a lower one.
 */
@Component(service = HostFilter.class, configurationPid = SecurityZoneFilter.PID)
@Designate(ocd = SecurityZoneFilter.Config.class)
@FilterName("security-zone")
public class SecurityZoneFilter implements HostFilter {

    static final String PID = "org.servicefarm.filter.securityzone";

    @ObjectClassDefinition(name = "ServiceFarm security-zone filter",
            description = "Keeps isolated security levels on hosts of their own security zone.")
    public @interface Config {
        @AttributeDefinition(name = "isolated levels", description = "Security levels whose VMs run only on "
                + "hosts whose security zone has the same name, and whose hosts run nothing else; comma-separated.")
        String[] isolatedLevels() default {"high"};
    }

    private volatile List<String> isolated = List.of("high");

    @Activate
    @Modified
    void configure(Config config) {
        isolated = Lists.split(config.isolatedLevels());
    }

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        String level = request.offering().securityLevel();
        String zone = host.host().securityZone();
        if (isolated.contains(level) && !zone.equals(level)) {
            return Optional.of("security level " + level + " runs only in zone " + level + ", host is in " + zone);
        }
        if (!isolated.contains(level) && isolated.contains(zone)) {
            return Optional.of("zone " + zone + " is reserved for security level " + zone);
        }
        return Optional.empty();
    }
}
