package org.servicefarm.rest.internal;

import java.util.List;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAliveView;

/**
 * {@code GET /api/v1/keepalive?service=…&after=…&limit=…}: the keep-alive policy in force and, for each combination it
 * was told of, what it has learned and when it next wants a VM of it in memory: why a VM idle for an hour is still
 * there, or when a pre-warm will come. A page at a time in the order of the combinations' keys ({@code after}: the
 * last key already read; the answer's {@code next} is the query of the following page, absent on the last), of one
 * service's combinations only with {@code service}.
 */
@Component(service = KeepAliveResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-keepalive")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/keepalive")
@Produces(MediaType.APPLICATION_JSON)
public class KeepAliveResource {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    /**
     * The lifecycle's view, while one is active: optional and dynamic, so that a keep-alive policy bundle stopped (the
     * lifecycle goes with the policy in force) does not take this resource away: the JAX-RS whiteboard rebuilds the
     * whole application for a resource that comes or goes, and every endpoint of the API answers CXF's "No service was
     * found" 404 meanwhile.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile KeepAliveView view;

    public KeepAliveResource() {
    }

    KeepAliveResource(KeepAliveView view) {
        this.view = view;
    }

    /** Parameters are taken as text: JAX-RS answers a malformed numeric query parameter with 404, not 400. */
    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the keep-alive policy in force (null: none) and what it learned of each combination, a page at a "
            + "time, and the query of the next page", "400 limit is malformed or out of range"})
    public JsonMapping.KeepAliveJson keepAlive(@QueryParam("service") String service, @QueryParam("after") String after,
                                               @QueryParam("limit") String limit) {
        int size = (int) QueryNumbers.whole("limit", limit, 1, MAX_LIMIT, DEFAULT_LIMIT);
        boolean anyService = service == null || service.isBlank();
        KeepAliveView in = view;
        if (in == null) { // no lifecycle: no policy in force, nothing learned
            return JsonMapping.keepAlive(null, List.of(), null);
        }
        Page<KeepAliveOutlook> page = Page.of(in.outlook().stream()
                        .filter(o -> anyService || o.offering().service().equals(service)),
                o -> o.offering().key(), after, size, last -> "/api/v1/keepalive?after=" + last + "&limit=" + size
                        + (anyService ? "" : "&service=" + Page.encoded(service)));
        return JsonMapping.keepAlive(in.policy().orElse(null), page.items(), page.next());
    }
}
