package org.servicefarm.rest.internal;

import java.time.Instant;
import java.util.List;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.audit.AuditEntry;
import org.servicefarm.api.audit.AuditTrail;

/**
 * {@code GET /api/v1/audit?since=…&after=…&limit=…}: the audit trail, oldest first, a page at a time. {@code since}
 * is an instant ({@code 2026-11-26T04:00:00Z}) or a duration back from now ({@code PT1H}); {@code after} the last id
 * already read; the answer's {@code next} is the query of the following page, absent on the last. Operators only:
 * the trail names who asked for what.
 */
@Component(service = AuditResource.class)
@JaxrsResource
@JaxrsApplicationSelect(ApiApplication.SELECT)
@JaxrsName("servicefarm-audit")
@JSONRequired
@JaxrsExtensionSelect({JSONRequired.FILTER, Extensions.LOGIN, Extensions.ROLES, Extensions.WADL_OFF, Extensions.JSON,
        Extensions.PROBLEMS, Extensions.JSON_PROBLEMS, Extensions.STARTING})
@Path("v1/audit")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {
    static final int DEFAULT_LIMIT = 100;

    /** One page of the trail. */
    public record AuditPage(List<EntryJson> entries, String next, String trail) {
    }

    /** An entry with its time as ISO-8601 text. */
    public record EntryJson(long id, String at, String appliance, String actor, String action, String subject,
                            String outcome, String reason) {
        static EntryJson of(AuditEntry e) {
            return new EntryJson(e.id(), e.at().toString(), e.appliance(), e.actor(), e.action(), e.subject(),
                    e.outcome(), e.reason());
        }
    }

    private final AuditTrail trail;

    @Activate
    public AuditResource(@Reference AuditTrail trail) {
        this.trail = trail;
    }

    /** Parameters are taken as text: JAX-RS answers a malformed numeric query parameter with 404, not 400. */
    @GET
    @RolesAllowed(Roles.OPERATOR)
    @Answers({"200 a page of the audit trail, oldest first, and the query of the next page",
            "400 since, after or limit is malformed or out of range"})
    public AuditPage audit(@QueryParam("since") String since, @QueryParam("after") String after,
                           @QueryParam("limit") String limit) {
        Instant from = AuditTrail.since(since, Instant.now());
        long afterId = QueryNumbers.whole("after", after, 0, Long.MAX_VALUE, 0);
        int size = (int) QueryNumbers.whole("limit", limit, 1, AuditTrail.MAX_PAGE, DEFAULT_LIMIT);
        List<AuditEntry> entries = trail.entries(from, afterId, size);
        String next = entries.size() < size ? null
                : "/api/v1/audit?after=" + entries.get(entries.size() - 1).id() + "&limit=" + size
                        + (from != null ? "&since=" + from : "");
        return new AuditPage(entries.stream().map(EntryJson::of).toList(), next, trail.description());
    }
}
