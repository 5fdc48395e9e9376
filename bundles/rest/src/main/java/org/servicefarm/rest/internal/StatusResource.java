package org.servicefarm.rest.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.frontend.DirectoryFrontEnd;

/** {@code GET /api/v1/status}: the directory front ends that run (REST, DNS, dashboard, ...) and the farm's size. */
@Component(service = StatusResource.class)
@JaxrsResource
@JaxrsName("servicefarm-status")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID})
@Path("api/v1/status")
@Produces(MediaType.APPLICATION_JSON)
public class StatusResource {

    record FrontEndJson(String name, String address) {
    }

    record StatusJson(List<FrontEndJson> frontends, int hosts, long vms) {
    }

    private final ServiceManager manager;
    /** By name; front ends come and go with their bundles. */
    private final Map<String, DirectoryFrontEnd> frontEnds = new ConcurrentSkipListMap<>();

    @Activate
    public StatusResource(@Reference ServiceManager manager) {
        this.manager = manager;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addFrontEnd(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        frontEnds.put(name(frontEnd, properties), frontEnd);
    }

    void removeFrontEnd(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        frontEnds.remove(name(frontEnd, properties), frontEnd);
    }

    private static String name(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        Object name = properties.get(DirectoryFrontEnd.NAME);
        return name == null ? frontEnd.getClass().getSimpleName() : name.toString();
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the front ends clients reach the directory by, and how many hosts and live VMs the farm has"})
    public StatusJson status() {
        List<FrontEndJson> list = frontEnds.entrySet().stream()
                .map(e -> new FrontEndJson(e.getKey(), e.getValue().address())).toList();
        long live = manager.stateTable().vms().stream().map(VmRecord::state).filter(s -> s.occupiesHost()).count();
        return new StatusJson(list, manager.hosts().size(), live);
    }
}
