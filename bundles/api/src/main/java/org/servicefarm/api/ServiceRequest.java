package org.servicefarm.api;

import java.time.Duration;

/**
 * A client's request: a service (an application) at an optional version, in an optional
 * environment, at an optional security level, for a customer tier, answered within a deadline.
 *
 * @param service       application name; required
 * @param version       application version, {@code null} for the newest viable one
 * @param environment   wanted environment; {@code null} fields are filled by the directory
 * @param securityLevel wanted security level, {@code null} for the directory's default
 * @param tier          customer tier, {@code null} for the default tier
 * @param deadline      how long the caller may wait, {@code null} for the configured default
 */
public record ServiceRequest(String service, String version, Environment environment,
                             String securityLevel, String tier, Duration deadline) {

    /**
     * @throws InvalidRequestException naming the field when a name breaks the {@link Names} grammar, the
     *                                 service is missing or the deadline is negative
     */
    public ServiceRequest {
        Names.required("service", service);
        Names.optional("version", version);
        Names.optional("securityLevel", securityLevel);
        Names.optional("tier", tier);
        environment = environment == null ? Environment.ANY : environment;
        if (deadline != null && deadline.isNegative()) {
            throw new InvalidRequestException("deadlineMs", "deadline must not be negative: " + deadline.toMillis() + " ms");
        }
    }

    public static ServiceRequest of(String service) {
        return new ServiceRequest(service, null, Environment.ANY, null, null, null);
    }

    public ServiceRequest withDeadline(Duration newDeadline) {
        return new ServiceRequest(service, version, environment, securityLevel, tier, newDeadline);
    }

    public ServiceRequest withTier(String newTier) {
        return new ServiceRequest(service, version, environment, securityLevel, newTier, deadline);
    }
}
