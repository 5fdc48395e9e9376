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
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.image.ImageService;

/**
 * {@code GET /api/v1/popularity}: requests per offering over the popularity window, and the image each
 * popular offering had built ahead of demand. Its own resource, not a field of /api/v1/images: it counts
 * offerings (also those without an image yet), where an image is one offering's build for given guest
 * ports and component versions.
 */
@Component(service = PopularityResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-popularity")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/popularity")
@Produces(MediaType.APPLICATION_JSON)
public class PopularityResource {

    private final ImageService images;

    @Activate
    public PopularityResource(@Reference ImageService images) {
        this.images = images;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 request counts per offering over the popularity window"})
    public JsonMapping.PopularityJson popularity() {
        return JsonMapping.popularity(images.popularity());
    }
}
