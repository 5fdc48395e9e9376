package org.servicefarm.rest.internal;

import java.util.UUID;
import java.util.regex.Pattern;

import javax.annotation.Priority;
import javax.ws.rs.Priorities;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.ContainerResponseContext;
import javax.ws.rs.container.ContainerResponseFilter;
import javax.ws.rs.container.PreMatching;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.servicefarm.api.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A request id on every answer: the client's {@value #HEADER} when it is well-formed (1-64 letters, digits, '.', '_',
 * '-'), else a new one. It is the answer's {@value #HEADER}, the {@code requestId} of a problem+json body, and the
 * log's MDC key {@value #MDC_KEY} while the request is handled, so a client's report finds its log lines. Runs before
 * the login, so that a refused login has one too. Each answer is logged at DEBUG by {@code org.servicefarm.rest.access}.
 */
@Component(service = {ContainerRequestFilter.class, ContainerResponseFilter.class})
@JaxrsExtension
@JaxrsName(RequestIdFilter.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@PreMatching
// before the login (AUTHENTICATION) on the way in; response filters run in reverse, so this one is last out
@Priority(Priorities.AUTHENTICATION - 100)
public class RequestIdFilter implements ContainerRequestFilter, ContainerResponseFilter {

    static final String NAME = "servicefarm-request-id";
    static final String HEADER = "X-Request-Id";
    static final String MDC_KEY = "requestId";
    /** Request property holding the id, for whatever answers the request on another thread. */
    static final String PROPERTY = RequestIdFilter.class.getName();

    /** What a client's id may be: nothing that could forge a log line or a header. */
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Logger ACCESS = LoggerFactory.getLogger("org.servicefarm.rest.access");

    @Override
    public void filter(ContainerRequestContext request) {
        String id = wellFormed(request.getHeaderString(HEADER));
        request.setProperty(PROPERTY, id);
        // a suspended request leaves its id on this thread until the next request here replaces it
        MDC.put(MDC_KEY, id);
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        Object property = request.getProperty(PROPERTY);
        String id = property instanceof String s ? s : wellFormed(null);
        response.getHeaders().putSingle(HEADER, id);
        if (response.getEntity() instanceof String text && isProblem(response.getMediaType())) {
            response.setEntity(withRequestId(text, id), response.getEntityAnnotations(), response.getMediaType());
        }
        if (ACCESS.isDebugEnabled()) {
            String previous = MDC.get(MDC_KEY);
            MDC.put(MDC_KEY, id);
            ACCESS.debug("{} {} -> {}", request.getMethod(),
                    Names.excerpt(request.getUriInfo().getRequestUri().getRawPath(), 200), response.getStatus());
            restore(previous);
        }
    }

    /** The client's id if it is well-formed, else a new one. */
    static String wellFormed(String offered) {
        return offered != null && WELL_FORMED.matcher(offered).matches() ? offered : UUID.randomUUID().toString();
    }

    /**
     * A problem's JSON text with {@code requestId} as its first member. The text is a JSON object that
     * {@link Problems} wrote, and the id is well-formed, so nothing needs escaping.
     */
    static String withRequestId(String problemJson, String id) {
        String body = problemJson.stripLeading();
        if (!body.startsWith("{") || body.contains("\"requestId\"")) {
            return problemJson;
        }
        String rest = body.substring(1).stripLeading();
        return "{\"requestId\":\"" + id + "\"" + (rest.startsWith("}") ? "" : ",") + rest;
    }

    private static boolean isProblem(MediaType type) {
        return type != null && Problems.MEDIA_TYPE.equals(type.getType() + "/" + type.getSubtype());
    }

    private static void restore(String previous) {
        if (previous == null) {
            MDC.remove(MDC_KEY);
        } else {
            MDC.put(MDC_KEY, previous);
        }
    }
}
