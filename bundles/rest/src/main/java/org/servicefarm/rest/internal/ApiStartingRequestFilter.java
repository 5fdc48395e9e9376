package org.servicefarm.rest.internal;

import javax.annotation.Priority;
import javax.ws.rs.Priorities;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.PreMatching;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;

/**
 * {@link ApiStartingFilter}'s verdict checked again inside the API's JAX-RS application, before a resource is matched
 * and before the login: 503 "ask again" while the API is not whole. The HTTP whiteboard puts the servlet filter in
 * place when it gets to the REST bundle, and on a restart from Karaf's cache that was 1.7 s after the web server
 * listened, 0.35 s after the API's own context already served its first resources: requests for the VMs then got
 * 404 "not found" problems (2-6 in 4 of 5 restarts watched by 6 clients every 10 ms). Every resource of the API
 * selects this extension, so none is served without it. A request the servlet filter let through is not judged again
 * (JAX-RS request properties are the servlet request's attributes).
 */
@Component(service = ContainerRequestFilter.class)
@JaxrsExtension
@JaxrsName(ApiStartingRequestFilter.NAME)
@JaxrsApplicationSelect(ApiApplication.SELECT)
@PreMatching
// after the request id (AUTHENTICATION - 100), so the answer carries one; before the login
@Priority(Priorities.AUTHENTICATION - 50)
public class ApiStartingRequestFilter implements ContainerRequestFilter {

    static final String NAME = "servicefarm-api-starting-check";

    private final ApiStartingFilter starting;

    @Activate
    public ApiStartingRequestFilter(@Reference ApiStartingFilter starting) {
        this.starting = starting;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (request.getProperty(ApiStartingFilter.LET_THROUGH) != null) {
            return; // the servlet filter judged it (a change in the API's services waits for it): not twice
        }
        ApiServing now = starting.serving();
        if (!now.ready()) {
            request.abortWith(Response.fromResponse(Problems.response(ApiStartingFilter.problem(now)))
                    .header(HttpHeaders.RETRY_AFTER, ApiStartingFilter.RETRY_AFTER_SECONDS).build());
        }
    }
}
