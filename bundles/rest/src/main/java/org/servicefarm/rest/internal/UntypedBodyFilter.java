package org.servicefarm.rest.internal;

import java.lang.reflect.Method;

import javax.annotation.Priority;
import javax.ws.rs.Consumes;
import javax.ws.rs.NotSupportedException;
import javax.ws.rs.Priorities;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.ResourceInfo;
import javax.ws.rs.core.Context;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;

/**
 * Refuses a request without a Content-Type (a body or none) to a method that reads JSON, with the
 * same 415 a body of another type gets from the methods' {@code @Consumes}. CXF matches an untyped body to
 * such a method, then finds no reader for it and logs that at SEVERE: one ERROR line in the
 * appliance's log for every client that forgets the header (plain Java or Python HTTP clients do).
 * After the role check, so that a client without a login is told that first.
 * <p>
 * Not among the {@link Extensions} the resources wait for: without it the answer is the same 415.
 */
@Component(service = ContainerRequestFilter.class)
@JaxrsExtension
@JaxrsName(UntypedBodyFilter.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@Priority(Priorities.AUTHORIZATION + 1)
public class UntypedBodyFilter implements ContainerRequestFilter {

    static final String NAME = "servicefarm-untyped-body";

    @Context
    ResourceInfo resource;

    @Override
    public void filter(ContainerRequestContext request) {
        Method method = resource == null ? null : resource.getResourceMethod();
        // an empty body too: CXF reads it as application/octet-stream, finds no reader either, and logs that
        if (request.getMediaType() == null && method != null
                && method.isAnnotationPresent(Consumes.class)) {
            // mapped by ProblemMapper like the runtime's own 415
            throw new NotSupportedException();
        }
    }
}
