package org.servicefarm.rest.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.QueryParam;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.container.AsyncResponse;
import javax.ws.rs.container.Suspended;
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
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * {@code /api/v1/vms}: the state table (viewer), and a VM's lifecycle moves (operator): {@code POST {id}/sleep},
 * {@code POST {id}/archive[?tier=SAVED|COMPRESSED|DELTA]}, {@code POST {id}/wake}, {@code POST {id}/migrate[?host=]},
 * {@code DELETE {id}}. Each answers 200 with the VM's row after the move; 404 for no such VM, 409 when its state allows
 * no such move now, 400 for a bad tier or host, nothing changed.
 */
@Component(service = VmResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-vms")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.REQUEST_ID,
        Extensions.STARTING})
@Path("v1/vms")
@Produces(MediaType.APPLICATION_JSON)
public class VmResource {
    /** A page of VMs: enough for a small farm's whole table at once. */
    static final int DEFAULT_LIMIT = 1000;
    static final int MAX_LIMIT = 10_000;

    private final ServiceManager manager;

    // greedy: the appliance's own manager, even when a directory's remote one (ranked below) registered first
    @Activate
    public VmResource(@Reference(policyOption = ReferencePolicyOption.GREEDY) ServiceManager manager) {
        this.manager = manager;
    }

    /**
     * {@code GET /api/v1/vms?state=…&host=…&after=…&limit=…}: the VMs the farm knows, DESTROYED ones included, a page
     * at a time in the order of their ids ({@code after}: the last id already read; {@code next}: the query of the
     * following page, absent on the last), of one state or host only if asked. Parameters are taken as text: JAX-RS
     * answers a malformed numeric query parameter with 404, not 400.
     */
    @GET
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the VMs the farm knows, DESTROYED ones included, a page at a time, and the query of the next page",
            "400 an unknown state, a malformed host name, or a limit malformed or out of range"})
    public JsonMapping.VmsJson vms(@QueryParam("state") String state, @QueryParam("host") String host,
                                   @QueryParam("after") String after, @QueryParam("limit") String limit) {
        VmState only = Names.constant(VmState.class, "state", "VM state", state);
        boolean anyHost = host == null || host.isEmpty();
        if (!anyHost && !HostRecord.validName(host)) {
            throw new InvalidRequestException("host", "'" + Names.excerpt(host) + "' is not a host name");
        }
        int size = (int) QueryNumbers.whole("limit", limit, 1, MAX_LIMIT, DEFAULT_LIMIT);
        Page<VmRecord> page = Page.of(manager.stateTable().vms().stream()
                        .filter(vm -> only == null || vm.state() == only)
                        .filter(vm -> anyHost || host.equals(vm.hostId())),
                VmRecord::id, after, size, last -> "/api/v1/vms?after=" + last + "&limit=" + size
                        + (only == null ? "" : "&state=" + only) + (anyHost ? "" : "&host=" + Page.encoded(host)));
        return JsonMapping.vms(page.items(), page.next());
    }

    @GET
    @Path("{id}")
    @RolesAllowed(Roles.VIEWER)
    @Answers({"200 the VM", "404 no VM of that id"})
    public JsonMapping.VmJson vm(@PathParam("id") String id) {
        return manager.stateTable().vm(id).map(JsonMapping::vm)
                .orElseThrow(() -> new NotFoundException("no VM with id " + Names.excerpt(id)));
    }

    @POST
    @Path("{id}/sleep")
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 the VM, SLEEPING (suspended in memory)",
            "404 no such VM",
            "409 its state allows no such move (nothing changed)", Answers.NOT_HERE})
    public JsonMapping.VmJson sleep(@PathParam("id") String id) {
        return JsonMapping.vm(manager.sleep(id));
    }

    @POST
    @Path("{id}/archive")
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 the VM, ARCHIVED in the tier asked for, with its bytes",
            "400 no such archive tier",
            "404 no such VM",
            "409 its state allows no such move, or its host keeps no archives in that tier (nothing changed)", Answers.NOT_HERE})
    public JsonMapping.VmJson archive(@PathParam("id") String id, @QueryParam("tier") String tier) {
        return JsonMapping.vm(manager.archive(id, Names.constant(ArchiveTier.class, "tier", "archive tier", tier)));
    }

    @POST
    @Path("{id}/wake")
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 the VM, ACTIVE again (resumed or restored), or still waking when it takes longer than the longest deadline",
            "404 no such VM",
            "409 its state allows no such move (nothing changed), or waking it failed", Answers.NOT_HERE})
    public void wake(@PathParam("id") String id, @Suspended AsyncResponse response) {
        // a restore may take long: no request thread waits for it
        AsyncAnswers.resume(response, manager.wakeAsync(id), JsonMapping::vm);
    }

    @POST
    @Path("{id}/migrate")
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 the VM on its new host",
            "400 a malformed host name",
            "404 no such VM",
            "409 its state allows no such move, or the host cannot take it (nothing changed)", Answers.NOT_HERE})
    public JsonMapping.VmJson migrate(@PathParam("id") String id, @QueryParam("host") String host) {
        if (host != null && !HostRecord.validName(host)) {
            throw new InvalidRequestException("host", "'" + Names.excerpt(host) + "' is not a host name");
        }
        return JsonMapping.vm(manager.migrate(id, host));
    }

    @DELETE
    @Path("{id}")
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 the VM, DESTROYED", "404 no such VM", "409 its state allows no such move (nothing changed)", Answers.NOT_HERE})
    public JsonMapping.VmJson destroy(@PathParam("id") String id) {
        return JsonMapping.vm(manager.destroy(id));
    }
}
