package org.servicefarm.rest.internal;

import java.util.List;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.Consumes;
import javax.ws.rs.DefaultValue;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.container.AsyncResponse;
import javax.ws.rs.container.Suspended;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.SecurityContext;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.audit.AuditTrail;
import org.servicefarm.api.suggest.Suggestions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /api/v1/requests}: one call of {@link ServiceManager#requestAsync}, its outcome as HTTP (no thread is
 * held while the VM is prepared: the answer is resumed when the manager's stage completes); with
 * {@code ?explain=true} one call of {@link ServiceManager#explain}.
 */
@Component(service = RequestResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName(RequestResource.NAME)
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/requests")
@Produces(MediaType.APPLICATION_JSON)
public class RequestResource {

    static final String NAME = "servicefarm-requests";

    private static final Logger LOG = LoggerFactory.getLogger(RequestResource.class);

    private final ServiceManager manager;
    /** Who asked for what and what was answered; absent when the appliance runs without a store. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile AuditTrail audit;

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public RequestResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    /**
     * GRANTED is 200, RETRY_LATER 503 with Retry-After, NEVER a 404 problem. With {@code explain=true}: 200 with
     * what the manager would do (reuse, wake or create a VM, and how the host would be chosen), nothing done.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 GRANTED: the endpoint (or, with explain=true, what the manager would do)", "400 the request is malformed (field names the offending one)", "404 NEVER: the combination is not viable; detail says why, suggestions are up to 3 nearest viable request bodies", "415 the body is not JSON", "503 RETRY_LATER: the VM is being prepared; Retry-After says when to ask again (or, on every path, a problem of type starting while the API is not whole)", Answers.NOT_HERE})
    public void request(RequestBody body, @QueryParam("explain") @DefaultValue("false") boolean explain,
                        @Context SecurityContext login, @Suspended AsyncResponse response) {
        if (explain) {
            response.resume(Response.ok(JsonMapping.explanation(manager.explain(body.toRequest()))).build());
            return;
        }
        // a failed stage (a malformed request found late) reaches the exception mappers like a thrown one
        ServiceRequest asked = body.toRequest();
        String user = login != null && login.getUserPrincipal() != null ? login.getUserPrincipal().getName() : "?";
        AsyncAnswers.resume(response, manager.requestAsync(asked), outcome -> {
            AuditTrail trail = audit;
            if (trail != null) {
                trail.answered(user, asked, outcome);
            }
            return answer(outcome, asked);
        });
    }

    Response answer(Outcome outcome, ServiceRequest asked) {
        if (outcome instanceof Outcome.Never never) {
            return Problems.response(Problems.never(never.reason(), suggestions(asked)));
        }
        return answer(outcome);
    }

    /** The nearest viable requests; a refusal is still answered, without them, should the directory fail. */
    private List<RequestBody> suggestions(ServiceRequest asked) {
        try {
            return Suggestions.nearest(manager.directory(), asked).stream().map(RequestBody::of).toList();
        } catch (RuntimeException e) {
            LOG.warn("no suggestions for a refused request: {}", e.toString());
            return List.of();
        }
    }

    static Response answer(Outcome outcome) {
        if (outcome instanceof Outcome.Granted granted) {
            return Response.ok(JsonMapping.granted(granted)).build();
        }
        if (outcome instanceof Outcome.RetryLater retry) {
            return Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .header(HttpHeaders.RETRY_AFTER, retry.retryAfterSeconds())
                    .entity(JsonMapping.retryLater(retry))
                    .build();
        }
        return Problems.response(Problems.never(((Outcome.Never) outcome).reason(), List.of()));
    }
}
