package org.servicefarm.rest.internal;

import javax.ws.rs.core.Application;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationBase;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;

/**
 * The REST API's own JAX-RS application, at {@code /api}: every resource of this bundle selects it
 * ({@link #SELECT}), so their paths start at {@code v1/}. Why not the whiteboard's default application: the Aries
 * JAX-RS whiteboard rebuilds an application whenever one of its resources comes or goes, and while it does every
 * path of that application answers CXF's HTML {@code 404 No service was found}. In the default application, the
 * metrics bundle's {@code /metrics} or the dashboard's {@code /events} being stopped or started blanked the whole API
 * for a moment (31 such 404s of 6,034 answers to 8 clients across a metrics restart); now they rebuild only the
 * default application they stay in. The extensions (login, roles, JSON, problems) select every application.
 */
@Component(service = Application.class)
@JaxrsApplicationBase(ApiApplication.BASE)
@JaxrsName(ApiApplication.NAME)
public class ApiApplication extends Application {

    static final String BASE = "api";
    static final String NAME = "servicefarm-api";
    static final String SELECT = "(osgi.jaxrs.name=" + NAME + ")";
    /** The HTTP context the whiteboard makes for the application (Aries: {@code "context.for" + name}). */
    static final String HTTP_CONTEXT = "context.for" + NAME;
}
