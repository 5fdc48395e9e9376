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
 * @param retryTicket   the ticket of the RETRY_LATER answer this request retries ({@link Outcome.RetryLater#retryTicket}),
 *                      or {@code null} for a new request: a retry is the same demand, not counted again in popularity
 *                      or by the keep-alive policy; a ticket that is no longer good only makes the request count
 */
public record ServiceRequest(String service, String version, Environment environment,
                             String securityLevel, String tier, Duration deadline, String retryTicket) {

    /** What a retry ticket looks like: letters, digits, '-' and '_' (base64url), at most 64. */
    private static final java.util.regex.Pattern TICKET = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{1,64}");

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
        if (retryTicket != null && !wellFormedRetryTicket(retryTicket)) {
            throw new InvalidRequestException("retryTicket", "retryTicket must be what a RETRY_LATER answer gave: up to 64 "
                    + "letters, digits, - or _");
        }
    }

    /**
     * Whether {@code ticket} has the shape of a retry ticket (whether it is still good is the manager's to say).
     *
     * @since 1.6
     */
    public static boolean wellFormedRetryTicket(String ticket) {
        return ticket != null && TICKET.matcher(ticket).matches();
    }

    /** A first request (no retry ticket). */
    public ServiceRequest(String service, String version, Environment environment, String securityLevel, String tier,
                          Duration deadline) {
        this(service, version, environment, securityLevel, tier, deadline, null);
    }

    public static ServiceRequest of(String service) {
        return new ServiceRequest(service, null, Environment.ANY, null, null, null);
    }

    public ServiceRequest withDeadline(Duration newDeadline) {
        return new ServiceRequest(service, version, environment, securityLevel, tier, newDeadline, retryTicket);
    }

    public ServiceRequest withTier(String newTier) {
        return new ServiceRequest(service, version, environment, securityLevel, newTier, deadline, retryTicket);
    }

    /**
     * This request as the retry of one answered RETRY_LATER with {@code ticket}: the same demand, not counted again.
     *
     * @since 1.6
     */
    public ServiceRequest withRetryTicket(String ticket) {
        return new ServiceRequest(service, version, environment, securityLevel, tier, deadline, ticket);
    }
}
