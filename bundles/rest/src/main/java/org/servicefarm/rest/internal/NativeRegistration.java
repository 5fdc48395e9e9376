package org.servicefarm.rest.internal;

import java.util.List;

import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.Offering;

/**
 * The body of {@code POST /api/v1/natives}, in the shape {@code GET} answers: a name, the host, where it is reached,
 * its zone ({@code standard} when left out) and the whole offering it runs (every field named but the patches).
 */
record NativeRegistration(String name, String host, EndpointBody endpoint, String securityZone,
                          OfferingBody offering) {

    record EndpointBody(String host, Integer port) {
    }

    record OfferingBody(String service, String version, EnvironmentBody environment, String securityLevel) {
    }

    record EnvironmentBody(String os, String server, String runtime, List<String> patches) {
    }

    /** @throws InvalidRequestException naming the field as this body names it, when one is missing or breaks a rule */
    NativeService toNativeService() {
        if (endpoint == null) {
            throw new InvalidRequestException("endpoint", "endpoint is required: {\"host\":\"10.0.0.140\",\"port\":8080}");
        }
        if (offering == null || offering.environment() == null) {
            throw new InvalidRequestException(offering == null ? "offering" : "offering.environment",
                    "the whole offering is required: service, version, environment (os, server, runtime, patches), "
                            + "securityLevel");
        }
        EnvironmentBody environment = offering.environment();
        Offering offered;
        try {
            offered = Offering.of(offering.service(), offering.version(), new Environment(environment.os(),
                    environment.server(), environment.runtime(), environment.patches()), offering.securityLevel());
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException("offering." + e.field(), "offering." + e.getMessage());
        }
        try {
            return NativeService.of(name, host, endpoint.host(), endpoint.port(), securityZone, offered);
        } catch (InvalidRequestException e) {
            String field = "address".equals(e.field()) ? "endpoint.host" : "port".equals(e.field()) ? "endpoint.port"
                    : e.field();
            throw field.equals(e.field()) ? e : new InvalidRequestException(field, e.getMessage());
        }
    }
}
