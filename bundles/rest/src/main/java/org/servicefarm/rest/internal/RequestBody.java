package org.servicefarm.rest.internal;

import java.time.Duration;
import java.util.List;

import org.servicefarm.api.Environment;
import org.servicefarm.api.ServiceRequest;

/**
 * The body of {@code POST /api/v1/requests}, as the JSON provider binds it: only {@code service}
 * is required; a field left out is left to the directory. Offerings of the catalog and of grants
 * have this shape, so they can be posted as they are.
 */
record RequestBody(String service, String version, EnvironmentBody environment, String securityLevel, String tier,
                   Long deadlineMs) {

    record EnvironmentBody(String os, String server, String runtime, List<String> patches) {

        Environment toEnvironment() {
            return new Environment(os, server, runtime, patches);
        }
    }

    /**
     * @throws org.servicefarm.api.InvalidRequestException naming the field when a name breaks the API's
     *                                                     grammar, the service is missing or the deadline is negative
     */
    ServiceRequest toRequest() {
        return new ServiceRequest(service, version, environment == null ? Environment.ANY : environment.toEnvironment(),
                securityLevel, tier, deadlineMs == null ? null : Duration.ofMillis(deadlineMs));
    }
}
