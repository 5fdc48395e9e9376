package org.servicefarm.api.driver;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

import org.servicefarm.api.Offering;

/**
 * What a driver needs to define a VM. A driver records on the guest what {@link GuestMetadata} holds, so that it
 * can report it back from {@link HostConnection#guests}.
 *
 * @param vmId      the manager's id; becomes the domain name (escaped by the driver)
 * @param offering  the combination it offers
 * @param image     the image to run, staged on the VM's host
 * @param vcpus     virtual CPUs
 * @param memoryMiB memory
 * @param services  the services inside the guest and the guest ports they listen on
 * @param createdAt when the manager created the VM
 */
public record VmSpec(String vmId, Offering offering, StagedImage image, int vcpus, long memoryMiB,
                     List<GuestService> services, Instant createdAt) {

    public VmSpec {
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(createdAt, "createdAt");
        services = List.copyOf(services);
    }

    /** A service inside the guest: its name and the TCP port it listens on there. */
    public record GuestService(String name, int guestPort) {
    }
}
