package org.servicefarm.rest.internal;

import java.util.UUID;

import javax.ws.rs.WebApplicationException;
import javax.ws.rs.core.Response;
import javax.ws.rs.ext.ExceptionMapper;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns whatever escapes a resource into problem+json: the runtime's own 4xx (unknown path,
 * wrong method, ...) keep their status, anything else is a 500 whose body names an incident id
 * and whose stack trace goes to the log only.
 */
@Component(service = ExceptionMapper.class)
@JaxrsExtension
@JaxrsName("servicefarm-problems")
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
public class ProblemMapper implements ExceptionMapper<Throwable> {

    private static final Logger LOG = LoggerFactory.getLogger(ProblemMapper.class);

    @Override
    public Response toResponse(Throwable failure) {
        if (failure instanceof WebApplicationException web && web.getResponse() != null
                && web.getResponse().getStatus() < 500) {
            Response original = web.getResponse();
            Response.StatusType status = original.getStatusInfo();
            Response.ResponseBuilder problem = Response.fromResponse(Problems.status(status.getStatusCode(),
                    status.getReasonPhrase(), status.getReasonPhrase().toLowerCase(java.util.Locale.ROOT)));
            // Keep what the runtime says about the fix, e.g. the Allow header of a 405.
            original.getHeaders().forEach((name, values) -> {
                if (!name.equalsIgnoreCase("Content-Type") && !name.equalsIgnoreCase("Content-Length")) {
                    values.forEach(value -> problem.header(name, value));
                }
            });
            return problem.build();
        }
        String incident = UUID.randomUUID().toString();
        LOG.error("REST request failed, incident {}", incident, failure);
        return Problems.status(500, "Internal error", "the server failed to answer; incident " + incident
                + " is in its log");
    }
}
