package org.servicefarm.api.driver;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Offering;

/**
 * What the farm recorded on a guest when it defined it, as a driver reads it back ({@link GuestInfo.Recorded}):
 * enough to take a guest the state table does not know (after the appliance restarted) back into the table.
 *
 * @param vmId      the manager's VM id
 * @param offering  the combination it offers, every field set
 * @param imageId   the image it was made from
 * @param resources what it takes of its host
 * @param endpoints where each of its services is reached, by service name; empty while the driver does not know
 * @param createdAt when the manager created it
 */
public record GuestMetadata(String vmId, Offering offering, String imageId, Capacity resources,
                            Map<String, Endpoint> endpoints, Instant createdAt) {

    public GuestMetadata {
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(imageId, "imageId");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(createdAt, "createdAt");
        endpoints = endpoints == null ? Map.of() : Map.copyOf(endpoints);
    }
}
