package org.servicefarm.rest.internal;

import java.util.List;

import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.Response;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Error answers as {@code application/problem+json} (RFC 9457). The detail is always written for
 * the client; a stack trace never reaches a body, and a detail is cut short should it ever carry
 * a long value. Problems are written as JSON text here rather than by the JSON provider, since
 * filters and mappers answer with them where no message body writer may be at hand (another
 * application's request, an answer CXF writes without writers).
 */
final class Problems {

    static final String MEDIA_TYPE = "application/problem+json";
    /** The WWW-Authenticate challenge of every 401. */
    static final String CHALLENGE = "Basic realm=\"servicefarm\"";
    /** No detail is longer: a safety net for messages that would repeat a client's value at length. */
    static final int MAX_DETAIL_LENGTH = 300;

    /**
     * A problem; {@code field} names the offending request field (dotted, e.g. {@code environment.os})
     * when there is one, and {@code outcome} is set only for NEVER, so that clients can branch on it
     * like on the other outcomes; {@code suggestions}, only for NEVER, are the nearest viable requests, each a body
     * that can be posted as it is.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Problem(String type, String title, int status, String detail, String field, String outcome,
                   List<RequestBody> suggestions) {
    }

    private Problems() {
    }

    static Problem invalid(String field, String detail) {
        return problem("invalid-request", "Invalid request", 400, detail, field, null);
    }

    static Problem never(String reason, List<RequestBody> suggestions) {
        Problem problem = problem("never", "Never available", 404, reason, null, "NEVER");
        return new Problem(problem.type(), problem.title(), problem.status(), problem.detail(), null, "NEVER",
                List.copyOf(suggestions));
    }

    static Problem notFound(String detail) {
        return problem("not-found", "Not found", 404, detail, null, null);
    }

    static Problem conflict(String detail) {
        return problem("conflict", "Conflict", 409, detail, null, null);
    }

    /** 501: the appliance's manager does not offer this (a directory appliance: on the manager it names). */
    static Problem notSupported(String detail) {
        return problem("not-supported", "Not supported here", 501, detail, null, null);
    }

    static Problem tooLarge(String detail) {
        return problem("too-large", "Request body too large", 413, detail, null, null);
    }

    static Problem unauthorizedProblem(String detail) {
        return problem("unauthorized", "Login required", 401, detail, null, null);
    }

    static Problem forbiddenProblem(String detail) {
        return problem("forbidden", "Forbidden", 403, detail, null, null);
    }

    /** A problem for an HTTP status the JAX-RS runtime chose (unknown path, wrong method, ...). */
    static Problem status(int status, String title, String detail) {
        return problem(status >= 500 ? "internal" : "http-" + status, title, status, detail, null, null);
    }

    static Response unauthorized(String detail) {
        return Response.fromResponse(response(unauthorizedProblem(detail)))
                .header(HttpHeaders.WWW_AUTHENTICATE, CHALLENGE).build();
    }

    static Response forbidden(String detail) {
        return response(forbiddenProblem(detail));
    }

    /** 429: too many failed logins; the login is not checked until {@code seconds} have passed. */
    static Response throttled(long seconds) {
        Problem problem = problem("too-many-logins", "Too many failed logins", 429, "too many failed logins for "
                + "this user or from this address; try again in " + seconds + " s", null, null);
        return Response.fromResponse(response(problem)).header(HttpHeaders.RETRY_AFTER, seconds).build();
    }

    static Problem problem(String slug, String title, int status, String detail, String field, String outcome) {
        return new Problem("urn:servicefarm:problem:" + slug, title, status, shortened(detail), field, outcome, null);
    }

    static Response response(Problem problem) {
        return Response.status(problem.status()).type(MEDIA_TYPE).entity(text(problem)).build();
    }

    static String text(Problem problem) {
        return Json.text(problem);
    }

    private static String shortened(String detail) {
        return detail == null || detail.length() <= MAX_DETAIL_LENGTH ? detail
                : detail.substring(0, MAX_DETAIL_LENGTH - 1) + "…";
    }
}
