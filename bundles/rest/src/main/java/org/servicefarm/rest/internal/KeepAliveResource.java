package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.keepalive.KeepAliveView;

/**
 * {@code GET /api/v1/keepalive}: the keep-alive policy in force and, for each combination it was told of, what it has
 * learned and when it next wants a VM of it in memory: why a VM idle for an hour is still there, or when a pre-warm
 * will come.
 */
@Component(service = KeepAliveResource.class)
@JaxrsResource
@JaxrsName("servicefarm-keepalive")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID})
@Path("api/v1/keepalive")
@Produces(MediaType.APPLICATION_JSON)
public class KeepAliveResource {

    private final KeepAliveView view;

    @Activate
    public KeepAliveResource(@Reference KeepAliveView view) {
        this.view = view;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the keep-alive policy in force (null: none) and what it learned of each combination"})
    public JsonMapping.KeepAliveJson keepAlive() {
        return JsonMapping.keepAlive(view.policy().orElse(null), view.outlook());
    }
}
