package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.ServiceManager;

/** {@code GET /api/v1/catalog/...}: the service directory's read calls. */
@Component(service = CatalogResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-catalog")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/catalog")
@Produces(MediaType.APPLICATION_JSON)
public class CatalogResource {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 1000;

    private final ServiceManager manager;

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public CatalogResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    /**
     * Viable offerings, each postable to /api/v1/requests as it is. The limit is taken as text:
     * JAX-RS answers a malformed numeric query parameter with 404, where this API promises 400.
     */
    @GET
    @Path("offerings")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 viable offerings, each postable as a request", "400 limit is not a whole number from 1 to 1000"})
    public JsonMapping.OfferingsJson offerings(@QueryParam("limit") String limit) {
        return JsonMapping.offerings(directory().offerings(limit(limit)));
    }

    @GET
    @Path("components")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every component the directory knows"})
    public JsonMapping.ComponentsJson components() {
        return JsonMapping.components(directory().components());
    }

    @GET
    @Path("rules")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the compatibility rules and the security levels"})
    public JsonMapping.RulesJson rules() {
        DirectoryView directory = directory();
        return new JsonMapping.RulesJson(directory.rules(), directory.securityLevels());
    }

    static int limit(String text) {
        return (int) QueryNumbers.whole("limit", text, 1, MAX_LIMIT, DEFAULT_LIMIT);
    }

    private DirectoryView directory() {
        return manager.directory();
    }
}
