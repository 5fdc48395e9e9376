package org.servicefarm.rest.internal;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.frontend.DirectoryFrontEnd;
import org.servicefarm.api.store.Leadership;
import org.servicefarm.api.store.VmStore;

/** {@code GET /api/v1/status}: the directory front ends that run (REST, DNS, dashboard, ...) and the farm's size. */
@Component(service = StatusResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-status")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/status")
@Produces(MediaType.APPLICATION_JSON)
public class StatusResource {

    record FrontEndJson(String name, String address) {
    }

    /** A configuration a component refused: what is wrong, what it runs on meanwhile, since when (ISO-8601). */
    record RefusedJson(String pid, String reason, String inForce, String since) {
    }

    /**
     * @param store     where the VMs' rows are kept
     * @param appliance this appliance's name among those sharing the store
     * @param leader    the appliance doing the periodic work (sweeps, reconciles), or null while none does
     * @param leads     whether this appliance is it
     * @param refused   the configurations refused and not mended yet, by pid (added last: empty when all is well)
     */
    record StatusJson(List<FrontEndJson> frontends, int hosts, long vms, String store, String appliance, String leader,
                      boolean leads, List<RefusedJson> refused) {
    }

    private final ServiceManager manager;
    @Reference(policyOption = ReferencePolicyOption.GREEDY)
    volatile VmStore store;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile Leadership leadership;
    /** By name; front ends come and go with their bundles. */
    private final Map<String, DirectoryFrontEnd> frontEnds = new ConcurrentSkipListMap<>();
    /** Each component registers its refusal while it stands. */
    private final Set<RefusedConfiguration> refusals = ConcurrentHashMap.newKeySet();

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public StatusResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addFrontEnd(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        frontEnds.put(name(frontEnd, properties), frontEnd);
    }

    void removeFrontEnd(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        frontEnds.remove(name(frontEnd, properties), frontEnd);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addRefusal(RefusedConfiguration refusal) {
        refusals.add(refusal);
    }

    void removeRefusal(RefusedConfiguration refusal) {
        refusals.remove(refusal);
    }

    private static String name(DirectoryFrontEnd frontEnd, Map<String, Object> properties) {
        Object name = properties.get(DirectoryFrontEnd.NAME);
        return name == null ? frontEnd.getClass().getSimpleName() : name.toString();
    }

    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the front ends clients reach the directory by, how many hosts and live VMs the farm has, where its "
            + "state is kept, which appliance leads the periodic work, and the configurations refused"})
    public StatusJson status() {
        List<FrontEndJson> list = frontEnds.entrySet().stream()
                .map(e -> new FrontEndJson(e.getKey(), e.getValue().address())).toList();
        long live = manager.stateTable().vms().stream().map(VmRecord::state).filter(s -> s.occupiesHost()).count();
        Leadership l = leadership;
        VmStore rows = store;
        List<RefusedJson> refused = RefusedConfiguration.latestByPid(refusals).stream()
                .map(r -> new RefusedJson(r.pid(), r.reason(), r.inForce(), r.since().toString())).toList();
        return new StatusJson(list, manager.hosts().size(), live, rows == null ? null : rows.description(),
                l == null ? null : l.appliance(), l == null ? null : l.leader(), l == null || l.leads(), refused);
    }
}
