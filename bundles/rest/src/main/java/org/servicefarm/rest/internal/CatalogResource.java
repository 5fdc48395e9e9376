package org.servicefarm.rest.internal;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.ServiceManager;

/** {@code GET /api/v1/catalog/...}: the service directory's read calls. */
@Component(service = CatalogResource.class)
@JaxrsResource
@JaxrsName("servicefarm-catalog")
@Path("api/v1/catalog")
public class CatalogResource {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 1000;

    private final ServiceManager manager;

    @Activate
    public CatalogResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    /**
     * Viable offerings, each postable to /api/v1/requests as it is. The limit is taken as text:
     * JAX-RS answers a malformed numeric query parameter with 404, where this API promises 400.
     */
    @GET
    @Path("offerings")
    public Response offerings(@QueryParam("limit") String limit) {
        int max;
        try {
            max = limit(limit);
        } catch (IllegalArgumentException e) {
            return Problems.invalidRequest(e.getMessage());
        }
        return ok(JsonMapping.offerings(directory().offerings(max)));
    }

    @GET
    @Path("components")
    public Response components() {
        return ok(JsonMapping.components(directory().components()));
    }

    @GET
    @Path("rules")
    public Response rules() {
        DirectoryView directory = directory();
        return ok(new JsonMapping.RulesJson(directory.rules(), directory.securityLevels()));
    }

    static int limit(String text) {
        if (text == null || text.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        int value;
        try {
            value = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("limit must be a whole number from 1 to " + MAX_LIMIT);
        }
        if (value < 1 || value > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be from 1 to " + MAX_LIMIT + ", not " + value);
        }
        return value;
    }

    private DirectoryView directory() {
        return manager.directory();
    }

    private static Response ok(Object body) {
        return Response.ok(Json.write(body), Json.MEDIA_TYPE).build();
    }
}
