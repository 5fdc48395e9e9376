package org.servicefarm.rest.internal;

import java.io.InputStream;
import java.net.URI;

import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** {@code /api/v1/hosts}: list hosts, and (role admin, checked by the login filter) add and remove them. */
@Component(service = HostResource.class)
@JaxrsResource
@JaxrsName("servicefarm-hosts")
@Path("api/v1/hosts")
public class HostResource {

    private final ServiceManager manager;

    @Activate
    public HostResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    @GET
    public Response hosts() {
        return Response.ok(Json.write(JsonMapping.hosts(manager.hosts())), Json.MEDIA_TYPE).build();
    }

    @GET
    @Path("{name}")
    public Response host(@PathParam("name") String name) {
        return manager.hosts().stream()
                .filter(host -> host.name().equals(name))
                .findFirst()
                .map(host -> Response.ok(Json.write(JsonMapping.host(host)), Json.MEDIA_TYPE).build())
                .orElseGet(() -> Problems.notFound("no host named " + name));
    }

    @POST
    public Response register(InputStream body) {
        HostRecord host;
        try {
            host = JsonMapping.hostRecord(Json.parse(Bodies.read(body)));
        } catch (Bodies.TooLargeException e) {
            return Problems.tooLarge(e.getMessage());
        } catch (IllegalArgumentException e) {
            // InvalidRequestException, and the API records' own checks: all the client's mistake.
            return Problems.invalidRequest(e.getMessage());
        }
        HostStatus registered;
        try {
            registered = manager.registerHost(host);
        } catch (InvalidRequestException e) {
            return Problems.invalidRequest(e.getMessage());
        } catch (ConflictException e) {
            return Problems.conflict(e.getMessage());
        }
        // Relative: JAX-RS resolves it against the application's base URI. Host names are URI-safe by rule.
        return Response.created(URI.create("api/v1/hosts/" + registered.name()))
                .type(Json.MEDIA_TYPE)
                .entity(Json.write(JsonMapping.host(registered)))
                .build();
    }

    @DELETE
    @Path("{name}")
    public Response unregister(@PathParam("name") String name) {
        try {
            manager.unregisterHost(name);
        } catch (NotFoundException e) {
            return Problems.notFound(e.getMessage());
        } catch (ConflictException e) {
            return Problems.conflict(e.getMessage());
        } catch (InvalidRequestException e) {
            return Problems.invalidRequest(e.getMessage());
        }
        return Response.noContent().build();
    }
}
