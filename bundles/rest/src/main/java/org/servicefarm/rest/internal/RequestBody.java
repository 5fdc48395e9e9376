package org.servicefarm.rest.internal;

import java.time.Duration;
import java.util.List;

import org.servicefarm.api.Environment;
import org.servicefarm.api.ServiceRequest;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The body of {@code POST /api/v1/requests}, as the JSON provider binds it: only {@code service}
 * is required; a field left out is left to the directory. Offerings of the catalog and of grants
 * have this shape, so they can be posted as they are.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record RequestBody(String service, String version, EnvironmentBody environment, String securityLevel, String tier,
                   Long deadlineMs, String retryTicket) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record EnvironmentBody(String os, String server, String runtime, List<String> patches) {

        Environment toEnvironment() {
            return new Environment(os, server, runtime, patches);
        }
    }

    /** The body that asks for {@code request}: fields it leaves out are left out; never a retry ticket. */
    static RequestBody of(ServiceRequest request) {
        Environment env = request.environment();
        EnvironmentBody environment = env.equals(Environment.ANY) ? null
                : new EnvironmentBody(env.os(), env.server(), env.runtime(), env.patches().isEmpty() ? null : env.patches());
        return new RequestBody(request.service(), request.version(), environment, request.securityLevel(),
                request.tier(), request.deadline() == null ? null : request.deadline().toMillis(), null);
    }

    /**
     * @throws org.servicefarm.api.InvalidRequestException naming the field when a name breaks the API's
     *                                                     grammar, the service is missing or the deadline is negative
     */
    ServiceRequest toRequest() {
        return new ServiceRequest(service, version, environment == null ? Environment.ANY : environment.toEnvironment(),
                securityLevel, tier, deadlineMs == null ? null : Duration.ofMillis(deadlineMs), retryTicket);
    }
}
