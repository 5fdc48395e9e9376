package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** {@code GET /api/v1/vms[/{id}]}: the state table, read only. */
@Component(service = VmResource.class)
@JaxrsResource
@JaxrsName("servicefarm-vms")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID})
@Path("api/v1/vms")
@Produces(MediaType.APPLICATION_JSON)
public class VmResource {

    private final ServiceManager manager;

    @Activate
    public VmResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every VM the farm knows, DESTROYED ones included"})
    public JsonMapping.VmsJson vms() {
        return JsonMapping.vms(manager.stateTable().vms());
    }

    @GET
    @Path("{id}")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the VM", "404 no VM of that id"})
    public JsonMapping.VmJson vm(@PathParam("id") String id) {
        return manager.stateTable().vm(id).map(JsonMapping::vm)
                .orElseThrow(() -> new NotFoundException("no VM with id " + Names.excerpt(id)));
    }
}
