package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
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
import org.servicefarm.api.ServiceManager;

/** {@code /api/v1/natives}: the services hosts run themselves, and whether each answers (viewer). */
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
}
