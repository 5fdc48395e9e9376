package org.servicefarm.rest.internal;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.ServiceManager;

/** {@code GET /api/v1/vms[/{id}]}: the state table, read only. */
@Component(service = VmResource.class)
@JaxrsResource
@JaxrsName("servicefarm-vms")
@Path("api/v1/vms")
public class VmResource {

    private final ServiceManager manager;

    @Activate
    public VmResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    @GET
    public Response vms() {
        return Response.ok(Json.write(JsonMapping.vms(manager.stateTable().vms())), Json.MEDIA_TYPE).build();
    }

    @GET
    @Path("{id}")
    public Response vm(@PathParam("id") String id) {
        return manager.stateTable().vm(id)
                .map(vm -> Response.ok(Json.write(JsonMapping.vm(vm)), Json.MEDIA_TYPE).build())
                .orElseGet(() -> Problems.notFound("no VM with id " + id));
    }
}
