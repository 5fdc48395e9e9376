package org.servicefarm.rest.internal;

import java.io.InputStream;

import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;

/** {@code POST /api/v1/requests}: one call of {@link ServiceManager#request}, its outcome as HTTP. */
@Component(service = RequestResource.class)
@JaxrsResource
@JaxrsName("servicefarm-requests")
@Path("api/v1/requests")
public class RequestResource {

    private final ServiceManager manager;

    @Activate
    public RequestResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    /** The body is read raw (any content type, so a bare {@code curl -d} works) and parsed strictly. */
    @POST
    public Response request(InputStream body) {
        ServiceRequest request;
        Outcome outcome;
        try {
            request = JsonMapping.serviceRequest(Json.parse(Bodies.read(body)));
            outcome = manager.request(request);
        } catch (InvalidRequestException e) {
            return Problems.invalidRequest(e.getMessage());
        } catch (Bodies.TooLargeException e) {
            return Problems.tooLarge(e.getMessage());
        }
        return answer(request, outcome);
    }

    static Response answer(ServiceRequest request, Outcome outcome) {
        if (outcome instanceof Outcome.Granted granted) {
            return Response.ok(Json.write(JsonMapping.granted(request, granted)), Json.MEDIA_TYPE).build();
        }
        if (outcome instanceof Outcome.RetryLater retry) {
            return Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .header("Retry-After", retry.retryAfterSeconds())
                    .type(Json.MEDIA_TYPE)
                    .entity(Json.write(JsonMapping.retryLater(request, retry)))
                    .build();
        }
        Outcome.Never never = (Outcome.Never) outcome;
        return Problems.never(never.reason());
    }
}
