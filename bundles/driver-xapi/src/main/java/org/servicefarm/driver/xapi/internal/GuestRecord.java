package org.servicefarm.driver.xapi.internal;

import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Names;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.VmSpec;

/**
 * What the farm records on a XAPI VM at define, as JSON in its {@code other_config} (key {@value #KEY}): the
 * {@link GuestMetadata} a restarted appliance adopts it from, and its services' guest ports. Read back through the
 * record's canonical constructor, which the offering's and capacity's own checks guard.
 */
record GuestRecord(String schema, String vmId, String service, String version, String os, String server,
                   String runtime, List<String> patches, String securityLevel, String imageId, int vcpus,
                   long memoryMiB, String createdAt, Map<String, Integer> ports) {

    static final String KEY = "servicefarm.guest";
    static final String SCHEMA = "servicefarm.xapi-vm/1";

    GuestRecord {
        patches = patches == null ? List.of() : List.copyOf(patches);
        ports = ports == null ? Map.of() : Map.copyOf(ports);
    }

    static GuestRecord of(VmSpec spec) {
        Offering o = spec.offering();
        Map<String, Integer> ports = new LinkedHashMap<>();
        spec.services().forEach(s -> ports.put(s.name(), s.guestPort()));
        return new GuestRecord(SCHEMA, spec.vmId(), o.service(), o.version(), o.environment().os(),
                o.environment().server(), o.environment().runtime(), o.environment().patches(), o.securityLevel(),
                spec.image().image().id(), spec.vcpus(), spec.memoryMiB(), spec.createdAt().toString(), ports);
    }

    String json() {
        try {
            return XapiRpc.JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("a guest record always writes", e);
        }
    }

    /** @throws IllegalArgumentException if the text is not such a record, or a part of it is invalid */
    static GuestRecord parse(String json) {
        GuestRecord read;
        try {
            read = XapiRpc.JSON.readValue(json, GuestRecord.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("its " + KEY + " is not a farm record: " + Names.excerpt(e.getMessage(), 160), e);
        }
        if (read == null || !SCHEMA.equals(read.schema())) {
            throw new IllegalArgumentException("its " + KEY + " is not a " + SCHEMA + " record");
        }
        return read;
    }

    /** The endpoints of its services at {@code address}, or none while the guest has no address. */
    Map<String, Endpoint> endpoints(String address) {
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        if (address != null) {
            ports.forEach((name, port) -> endpoints.put(name, new Endpoint(address, port)));
        }
        return endpoints;
    }

    GuestMetadata metadata(String address) {
        Offering offering = new Offering(service, version, new Environment(os, server, runtime, patches),
                securityLevel);
        return new GuestMetadata(vmId, offering, imageId, new Capacity(vcpus, memoryMiB, 1), endpoints(address),
                Instant.parse(createdAt));
    }
}
