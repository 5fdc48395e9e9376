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

/** {@code GET /api/v1/components}: the component repository images are built from. */
@Component(service = ComponentResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-components")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/components")
@Produces(MediaType.APPLICATION_JSON)
public class ComponentResource {

    private final ImageService images;

    @Activate
    public ComponentResource(@Reference ImageService images) {
        this.images = images;
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 every component of the image store's repository"})
    public JsonMapping.RepositoryComponentsJson components() {
        return JsonMapping.repositoryComponents(images.components());
    }
}
