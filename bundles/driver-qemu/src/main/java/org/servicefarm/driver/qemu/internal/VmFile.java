package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.VmSpec;

/**
 * What the qemu driver records about one of the farm's VMs in {@code <stateDir>/vms/<vmId>.json} (Jackson data
 * binding; times as ISO-8601 text): the {@link GuestMetadata} a restarted appliance adopts it from, which QEMU process runs it (a booted
 * guest is named by its VM id; a clone keeps the name of the pool process that took the checkpoint's state), how it
 * boots, its ports, and whether its state is saved.
 *
 * @param checkpoint the checkpoint it starts from, or {@code null} for a VM that boots its image
 * @param guest      the QEMU guest running it, or {@code null} while none does
 */
record VmFile(String schema, String vmId, String host, OfferingFile offering, String imageId, int vcpus, long memoryMiB,
              String createdAt, List<Port> ports, BootFile boot, String checkpoint, String guest, boolean saved) {

    static final String SCHEMA = "servicefarm.qemu-vm/1";

    VmFile {
        Checks.name("VM id", vmId);
        if (guest != null) {
            Checks.name("guest", guest);
        }
        if (checkpoint != null) {
            Checks.name("checkpoint", checkpoint);
        }
        ports = List.copyOf(ports);
    }

    /** A service's guest port and the host port it is forwarded from (0 until the VM runs). */
    record Port(String service, int guestPort, int hostPort) {
    }

    record OfferingFile(String service, String version, String os, String server, String runtime,
                        List<String> patches, String securityLevel) {
    }

    /** The image a guest boots (or a clone's checkpoint was booted from), as staged on this host. */
    record BootFile(String kernel, String initrd, String disk, String cmdline) {
        Image image(String key, int minMemoryMiB) {
            return new Image(key, Path.of(kernel), Path.of(initrd), disk == null ? null : Path.of(disk), cmdline,
                    minMemoryMiB);
        }

        static BootFile of(Image image) {
            return new BootFile(image.kernel().toString(), image.initrd().toString(),
                    image.disk() == null ? null : image.disk().toString(), image.cmdline());
        }
    }

    static VmFile of(VmSpec spec, String host, List<Port> ports, Image image, String checkpoint) {
        Offering o = spec.offering();
        OfferingFile offering = new OfferingFile(o.service(), o.version(), o.environment().os(),
                o.environment().server(), o.environment().runtime(), o.environment().patches(), o.securityLevel());
        return new VmFile(SCHEMA, spec.vmId(), host, offering, spec.image().image().id(), spec.vcpus(),
                spec.memoryMiB(), spec.createdAt().toString(), ports, BootFile.of(image), checkpoint, null, false);
    }

    Image image() {
        return boot.image(imageId, (int) Math.min(Integer.MAX_VALUE, memoryMiB));
    }

    VmFile withGuest(String name, List<Port> newPorts) {
        return new VmFile(schema, vmId, host, offering, imageId, vcpus, memoryMiB, createdAt, newPorts, boot, checkpoint,
                name, saved);
    }

    VmFile withSaved(boolean isSaved) {
        return new VmFile(schema, vmId, host, offering, imageId, vcpus, memoryMiB, createdAt, ports, boot, checkpoint,
                isSaved ? null : guest, isSaved);
    }

    /** The endpoints of its services, reached at {@code endpointHost}; empty while it has no host ports. */
    Map<String, Endpoint> endpoints(String endpointHost) {
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        for (Port port : ports) {
            if (port.hostPort() > 0) {
                endpoints.put(port.service(), new Endpoint(endpointHost, port.hostPort()));
            }
        }
        return endpoints;
    }

    /** What the farm recorded, as the core adopts it; throws when a part is invalid. */
    GuestMetadata metadata(String endpointHost) {
        Offering o = new Offering(offering.service(), offering.version(), new Environment(offering.os(),
                offering.server(), offering.runtime(), offering.patches()), offering.securityLevel());
        return new GuestMetadata(vmId, o, imageId, new Capacity(vcpus, memoryMiB, 1), endpoints(endpointHost),
                Instant.parse(createdAt));
    }

    void write(Path file) throws IOException {
        GuestState.writeAtomically(file, Json.writePretty(this));
    }

    static VmFile read(Path file) throws IOException {
        VmFile read = Json.read(Files.readString(file), VmFile.class);
        if (!SCHEMA.equals(read.schema())) {
            throw new IOException("not a " + SCHEMA + " file: " + file);
        }
        return read;
    }
}
