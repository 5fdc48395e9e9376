package org.servicefarm.rest.internal;

import java.util.List;

import java.net.URI;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.Consumes;
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
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ImageService;

/**
 * {@code /api/v1/images}: the images the store holds with their builds (viewer), and a build started
 * for a request (operator): 202 with the image's address, to follow its progress.
 */
@Component(service = ImageResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-images")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/images")
@Produces(MediaType.APPLICATION_JSON)
public class ImageResource {

    private final ImageService images;

    @Activate
    public ImageResource(@Reference ImageService images) {
        this.images = images;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every image the store holds or builds"})
    public JsonMapping.ImagesJson images() {
        return JsonMapping.images(images.images());
    }

    @GET
    @Path("{id}")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the image and its build's progress", "404 no image of that id"})
    public JsonMapping.ImageJson image(@PathParam("id") String id) {
        return images.image(id).map(JsonMapping::image)
                .orElseThrow(() -> new NotFoundException("no image with id " + Names.excerpt(id)));
    }

    /** The body of POST /api/v1/requests. 202 with Location: /api/v1/images/{id}; NEVER a 404 problem. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"202 the build started or is under way (Location names the image)", "400 the request is malformed", "404 the combination is never viable", "415 the body is not JSON"})
    public Response build(RequestBody body) {
        BuildOutcome outcome = images.build(body.toRequest());
        if (outcome instanceof BuildOutcome.Accepted accepted) {
            // Relative: JAX-RS resolves it against the application's base URI. Image ids are hex digits and '-'.
            return Response.accepted(JsonMapping.accepted(accepted))
                    .location(URI.create("v1/images/" + accepted.image().id()))
                    .build();
        }
        return Problems.response(Problems.never(((BuildOutcome.Never) outcome).reason(), List.of()));
    }
}
