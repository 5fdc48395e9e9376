package org.servicefarm.core.internal;

import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/** Hard constraint: no new VM goes to a host an operator drained ({@code farm:drain}); its VMs stay. */
@Component(service = HostFilter.class, property = HostFilter.COST + ":Integer=5")
@FilterName("drained")
public class DrainedFilter implements HostFilter {

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        return host.drained() ? Optional.of("drained by an operator") : Optional.empty();
    }
}
