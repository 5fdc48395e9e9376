package org.servicefarm.rest.internal;

import java.util.List;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.Names;
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

    /** @throws InvalidRequestException naming the field when one is missing or breaks the rules */
    NativeService toNativeService() {
        if (endpoint == null) {
            throw new InvalidRequestException("endpoint", "endpoint is required: {\"host\":\"10.0.0.140\",\"port\":8080}");
        }
        if (endpoint.port() == null || endpoint.port() < 1 || endpoint.port() > 65535) {
            throw new InvalidRequestException("endpoint.port", "endpoint.port must be 1 to 65535");
        }
        if (endpoint.host() == null || endpoint.host().isBlank()) {
            throw new InvalidRequestException("endpoint.host", "endpoint.host is required");
        }
        if (offering == null || offering.environment() == null) {
            throw new InvalidRequestException(offering == null ? "offering" : "offering.environment",
                    "the whole offering is required: service, version, environment (os, server, runtime, patches), "
                            + "securityLevel");
        }
        EnvironmentBody environment = offering.environment();
        Names.required("offering.service", offering.service());
        Names.required("offering.version", offering.version());
        Names.required("offering.environment.os", environment.os());
        Names.required("offering.environment.server", environment.server());
        Names.required("offering.environment.runtime", environment.runtime());
        Names.required("offering.securityLevel", offering.securityLevel());
        Offering offered = new Offering(offering.service(), offering.version(), new Environment(environment.os(),
                environment.server(), environment.runtime(), environment.patches()), offering.securityLevel());
        try {
            return new NativeService(name, host, offered, new Endpoint(endpoint.host(), endpoint.port()),
                    securityZone == null ? "standard" : securityZone);
        } catch (InvalidRequestException e) { // the record's field, named as this body names it
            throw "address".equals(e.field()) ? new InvalidRequestException("endpoint.host", e.getMessage()) : e;
        }
    }
}
