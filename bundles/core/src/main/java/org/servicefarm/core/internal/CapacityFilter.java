package org.servicefarm.core.internal;

import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: the host has room for the VM (vCPUs, memory, a VM slot). The reservation checks the same again
 * atomically ({@link HostIndex#tryReserve}); this filter is what explanations show.
 */
@Component(service = HostFilter.class, property = HostFilter.COST + ":Integer=20")
@FilterName("capacity")
public class CapacityFilter implements HostFilter {

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        Capacity free = host.free();
        Capacity demand = request.demand();
        if (!free.fits(demand)) {
            return Optional.of("full: free " + free.vcpus() + " vCPUs, " + free.memoryMiB() + " MiB, " + free.vms()
                    + " VMs; needs " + demand.vcpus() + ", " + demand.memoryMiB() + " MiB, " + demand.vms());
        }
        return Optional.empty();
    }
}
