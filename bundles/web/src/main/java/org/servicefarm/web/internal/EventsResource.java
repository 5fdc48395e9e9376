package org.servicefarm.web.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.sse.OutboundSseEvent;
import javax.ws.rs.sse.Sse;
import javax.ws.rs.sse.SseEventSink;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.InvalidRequestException;

/**
 * {@code GET /events}: the dashboard's feed as server-sent events ({@link FarmFeed}: one {@code snapshot}, then
 * deltas). The connection is held without a thread (CXF's SSE runs on the servlet's asynchronous mode). Login and
 * roles are the REST API's (its filters, selected by name as {@code /metrics} does): role {@code viewer}, since the
 * events name hosts, VMs and what clients ask for. {@code ?follow=false} sends the snapshot alone and ends (for a
 * script, or a check that should not hold a stream open).
 */
@Component(service = EventsResource.class)
@JaxrsResource
@JaxrsName("servicefarm-events")
@JaxrsExtensionSelect({"(osgi.jaxrs.name=servicefarm-request-id)", "(osgi.jaxrs.name=servicefarm-login)",
        "(osgi.jaxrs.name=servicefarm-roles)", "(osgi.jaxrs.name=servicefarm-wadl-off)",
        "(osgi.jaxrs.name=servicefarm-problems)"})
@Path("events")
public class EventsResource {

    private final FarmFeed feed;

    @Activate
    public EventsResource(@Reference FarmFeed feed) {
        this.feed = feed;
    }

    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RolesAllowed("viewer")
    public void events(@QueryParam("follow") String follow, @Context SseEventSink sink, @Context Sse sse) {
        feed.subscribe(new EventStream<OutboundSseEvent>((event, json) -> sse.newEventBuilder().name(event)
                .mediaType(MediaType.APPLICATION_JSON_TYPE).data(String.class, json).build(), sink::send, sink::close,
                follow(follow)));
    }

    static boolean follow(String value) {
        if (value == null || value.equals("true")) {
            return true;
        }
        if (value.equals("false")) {
            return false;
        }
        throw new InvalidRequestException("follow", "follow must be true or false, not '" + value + "'");
    }
}
