package org.servicefarm.rest.internal;

import java.util.Locale;
import java.util.UUID;

import javax.ws.rs.WebApplicationException;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.Response;
import javax.ws.rs.ext.ExceptionMapper;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.NotSupportedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns whatever escapes a resource into problem+json: the API's refusals (invalid request 400
 * naming the field, not found 404, conflict 409), a body over the cap (413), the runtime's own
 * 4xx (unknown path, wrong method, a body that is not JSON, ...) with their status and headers,
 * and anything else as a 500 whose body names an incident id and whose stack trace goes to the
 * log only. Jackson's errors have their own mapper ({@link JsonProblemMapper}).
 */
@Component(service = ExceptionMapper.class)
@JaxrsExtension
@JaxrsName(ProblemMapper.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
public class ProblemMapper implements ExceptionMapper<Throwable> {

    static final String NAME = "servicefarm-problems";

    private static final Logger LOG = LoggerFactory.getLogger(ProblemMapper.class);

    @Override
    public Response toResponse(Throwable failure) {
        if (failure instanceof InvalidRequestException invalid) {
            return Problems.response(Problems.invalid(invalid.field(), invalid.getMessage()));
        }
        if (failure instanceof NotFoundException notFound) {
            return Problems.response(Problems.notFound(notFound.getMessage()));
        }
        if (failure instanceof ConflictException conflict) {
            return Problems.response(Problems.conflict(conflict.getMessage()));
        }
        if (failure instanceof NotSupportedException notSupported) {
            return Problems.response(Problems.notSupported(notSupported.getMessage()));
        }
        if (failure instanceof Bodies.TooLargeException tooLarge) {
            return Problems.response(Problems.tooLarge(tooLarge.getMessage()));
        }
        if (failure instanceof WebApplicationException web && web.getResponse() != null
                && web.getResponse().getStatus() < 500) {
            return runtimeClientError(web.getResponse());
        }
        return internalError(failure);
    }

    /** The runtime's own 4xx as a problem, keeping what it says about the fix, e.g. the Allow header of a 405. */
    private static Response runtimeClientError(Response original) {
        Response.StatusType status = original.getStatusInfo();
        String detail = switch (status.getStatusCode()) {
            case 415 -> "the request body must be JSON: send Content-Type: application/json";
            case 406 -> "this API answers in JSON: accept application/json";
            default -> status.getReasonPhrase().toLowerCase(Locale.ROOT);
        };
        Response.ResponseBuilder problem = Response.fromResponse(Problems.response(
                Problems.status(status.getStatusCode(), status.getReasonPhrase(), detail)));
        original.getHeaders().forEach((name, values) -> {
            if (!name.equalsIgnoreCase(HttpHeaders.CONTENT_TYPE) && !name.equalsIgnoreCase(HttpHeaders.CONTENT_LENGTH)) {
                values.forEach(value -> problem.header(name, value));
            }
        });
        return problem.build();
    }

    /** A 500 that names an incident id; the failure itself goes to the log only. */
    static Response internalError(Throwable failure) {
        String incident = UUID.randomUUID().toString();
        LOG.error("REST request failed, incident {}", incident, failure);
        return Problems.response(Problems.status(500, "Internal error", "the server failed to answer; incident "
                + incident + " is in its log"));
    }
}
