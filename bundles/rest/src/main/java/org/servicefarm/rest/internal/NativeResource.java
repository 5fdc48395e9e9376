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
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/**
 * {@code /api/v1/natives}: the services hosts run themselves, and whether each answers (viewer); add and remove them
 * (admin).
 */
@Component(service = NativeResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-natives")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/natives")
@Produces(MediaType.APPLICATION_JSON)
public class NativeResource {

    private final ServiceManager manager;

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public NativeResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every service a host runs itself (etc/org.servicefarm.native-*.cfg): a request for its offering "
            + "is granted its endpoint, without a VM, while it answers there"})
    public JsonMapping.NativeServicesJson natives() {
        return JsonMapping.natives(manager.natives());
    }

    @GET
    @Path("{name}")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the native service", "404 none of that name"})
    public JsonMapping.NativeServiceJson nativeService(@PathParam("name") String name) {
        return manager.natives().stream()
                .filter(n -> n.service().name().equals(name))
                .findFirst()
                .map(JsonMapping::nativeService)
                .orElseThrow(() -> new NotFoundException("no native service named " + Names.excerpt(name)));
    }

    /** 201 with its status and its address. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Roles.ADMIN)
    @Answers({"201 the native service was added (Location names it); its first probe may still be under way",
            "400 a field is invalid, the catalog does not offer the offering as it is, or the zone may not serve its "
                    + "security level", "409 one of that name exists, or one of that host and offering",
            "415 the body is not JSON", Answers.NOT_HERE})
    public Response register(NativeRegistration body) {
        NativeServiceStatus registered = manager.registerNative(body.toNativeService());
        // Relative: JAX-RS resolves it against the application's base URI. Names are URI-safe by rule.
        return Response.created(URI.create("v1/natives/" + registered.service().name()))
                .entity(JsonMapping.nativeService(registered))
                .build();
    }

    @DELETE
    @Path("{name}")
    @RolesAllowed(Roles.ADMIN)
    @Answers({"204 the native service was removed (its configuration with it)", "404 none of that name",
            Answers.NOT_HERE})
    public void unregister(@PathParam("name") String name) {
        manager.unregisterNative(name);
    }
}
