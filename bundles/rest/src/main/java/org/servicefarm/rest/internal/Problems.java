package org.servicefarm.rest.internal;

import javax.ws.rs.core.Response;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Error answers as {@code application/problem+json} (RFC 9457). The detail is always written for
 * the client; a stack trace never reaches a body.
 */
final class Problems {

    static final String MEDIA_TYPE = "application/problem+json";

    /** A problem; {@code outcome} is set only for NEVER, so that clients can branch on it like on the others. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Problem(String type, String title, int status, String detail, String outcome) {
    }

    private Problems() {
    }

    static Response invalidRequest(String detail) {
        return response(problem("invalid-request", "Invalid request", 400, detail, null));
    }

    static Response never(String reason) {
        return response(problem("never", "Never available", 404, reason, "NEVER"));
    }

    static Response notFound(String detail) {
        return response(problem("not-found", "Not found", 404, detail, null));
    }

    static Response conflict(String detail) {
        return response(problem("conflict", "Conflict", 409, detail, null));
    }

    static Response tooLarge(String detail) {
        return response(problem("too-large", "Request body too large", 413, detail, null));
    }

    static Response unauthorized(String detail) {
        return Response.fromResponse(response(problem("unauthorized", "Login required", 401, detail, null)))
                .header("WWW-Authenticate", "Basic realm=\"servicefarm\"").build();
    }

    static Response forbidden(String detail) {
        return response(problem("forbidden", "Forbidden", 403, detail, null));
    }

    /** A problem for an HTTP status the JAX-RS runtime chose (unknown path, wrong method, ...). */
    static Response status(int status, String title, String detail) {
        return response(problem(status >= 500 ? "internal" : "http-" + status, title, status, detail, null));
    }

    static Problem problem(String slug, String title, int status, String detail, String outcome) {
        return new Problem("urn:servicefarm:problem:" + slug, title, status, detail, outcome);
    }

    static Response response(Problem problem) {
        return Response.status(problem.status()).type(MEDIA_TYPE).entity(Json.write(problem)).build();
    }
}
