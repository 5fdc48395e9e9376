package org.servicefarm.rest.internal;

import java.net.URI;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.Consumes;
import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** {@code /api/v1/hosts}: list hosts (viewer), and add, remove, drain, undrain and connect them (admin). */
@Component(service = HostResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-hosts")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/hosts")
@Produces(MediaType.APPLICATION_JSON)
public class HostResource {

    private final ServiceManager manager;

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public HostResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every configured host with its use and connection"})
    public JsonMapping.HostsJson hosts() {
        return JsonMapping.hosts(manager.hosts());
    }

    @GET
    @Path("{name}")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the host", "404 no host of that name"})
    public JsonMapping.HostJson host(@PathParam("name") String name) {
        return manager.hosts().stream()
                .filter(host -> host.name().equals(name))
                .findFirst()
                .map(JsonMapping::host)
                .orElseThrow(() -> new NotFoundException("no host named " + Names.excerpt(name)));
    }

    /** 201 with the host's status and its address. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Roles.ADMIN)
    @Answers({"201 the host was added (Location names it)", "400 a field is invalid, or its driver is not installed or refuses it", "409 a host of that name exists", "415 the body is not JSON", Answers.NOT_HERE})
    public Response register(HostRegistration body) {
        HostStatus registered = manager.registerHost(body.toHostRecord());
        // Relative: JAX-RS resolves it against the application's base URI. Host names are URI-safe by rule.
        return Response.created(URI.create("v1/hosts/" + registered.name()))
                .entity(JsonMapping.host(registered))
                .build();
    }

    /** Drains the host: no new VM is placed there, and its VMs are moved away. 200 with its status. */
    @POST
    @Path("{name}/drain")
    @RolesAllowed(Roles.ADMIN)
    @Answers({"200 the host, drained", "404 no host of that name", Answers.NOT_HERE})
    public JsonMapping.HostJson drain(@PathParam("name") String name) {
        return JsonMapping.host(manager.drain(name, true));
    }

    /**
     * Connects the host now: one waiting for its next try (its hypervisor was down) is tried at once. 200 with its
     * status after the try; {@code connected} says whether it worked, {@code detail} why not.
     */
    @POST
    @Path("{name}/connect")
    @RolesAllowed(Roles.ADMIN)
    @Answers({"200 the host after the try (connected or not, and why)", "404 no host of that name", Answers.NOT_HERE})
    public JsonMapping.HostJson connect(@PathParam("name") String name) {
        return JsonMapping.host(manager.connect(name));
    }

    /** Undrains the host. 200 with its status. */
    @DELETE
    @Path("{name}/drain")
    @RolesAllowed(Roles.ADMIN)
    @Answers({"200 the host, undrained", "404 no host of that name", Answers.NOT_HERE})
    public JsonMapping.HostJson undrain(@PathParam("name") String name) {
        return JsonMapping.host(manager.drain(name, false));
    }

    @DELETE
    @Path("{name}")
    @RolesAllowed(Roles.ADMIN)
    @Answers({"204 the host was removed", "404 no host of that name", "409 VMs still occupy it", Answers.NOT_HERE})
    public void unregister(@PathParam("name") String name) {
        manager.unregisterHost(name);
    }
}
