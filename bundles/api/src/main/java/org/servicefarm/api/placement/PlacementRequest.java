package org.servicefarm.api.placement;

import java.util.List;
import java.util.Objects;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.GuestKind;
import org.servicefarm.api.Offering;

/**
 * What is to be placed.
 *
 * @param offering     the combination the new VM offers
 * @param tier         the requesting client's tier
 * @param demand       what the VM takes of a host (vms = 1)
 * @param replicaHosts hosts already holding a VM with the same offering (for anti-affinity and spreading)
 * @param guests       the kind of guest the VM's image can run as, or {@code null} for any
 */
public record PlacementRequest(Offering offering, String tier, Capacity demand, List<String> replicaHosts,
                               GuestKind guests) {
    public PlacementRequest {
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(demand, "demand");
        replicaHosts = List.copyOf(replicaHosts);
    }

    /** A request whose VM runs on any kind of host. */
    public PlacementRequest(Offering offering, String tier, Capacity demand, List<String> replicaHosts) {
        this(offering, tier, demand, replicaHosts, null);
    }
}
