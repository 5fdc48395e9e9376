package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/** {@code GET /api/v1/openapi.json}: the API's OpenAPI 3 document, made from the resources ({@link OpenApi}). */
@Component(service = OpenApiResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-openapi")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/openapi.json")
@Produces(MediaType.APPLICATION_JSON)
public class OpenApiResource {

    /** Made once: the resources it describes are this bundle's classes, which do not change while it runs. */
    private final String document = Json.text(OpenApi.document("v1"));

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 this document"})
    public String document() {
        return document;
    }
}
