package org.servicefarm.core.internal;

import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: a VM goes only to a host whose kind of guests its image can run as (a composition only where
 * guests are simulated, a real image where they boot once the farm has such hosts). A host that has not said its
 * kind yet is not connected, so the reservation turns it away.
 */
@Component(service = HostFilter.class, property = HostFilter.COST + ":Integer=1")
@FilterName("guest-kind")
public class GuestKindFilter implements HostFilter {

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        if (request.guests() == null || host.guests() == null || host.guests() == request.guests()) {
            return Optional.empty();
        }
        return Optional.of("its guests are " + host.guests().name().toLowerCase(java.util.Locale.ROOT)
                + ", the image needs " + request.guests().name().toLowerCase(java.util.Locale.ROOT) + " guests");
    }
}
