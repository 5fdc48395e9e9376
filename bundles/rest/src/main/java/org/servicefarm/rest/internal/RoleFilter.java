package org.servicefarm.rest.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.security.Principal;
import java.util.List;

import javax.annotation.Priority;
import javax.annotation.security.RolesAllowed;
import javax.ws.rs.Priorities;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.ContainerResponseContext;
import javax.ws.rs.container.ContainerResponseFilter;
import javax.ws.rs.container.ResourceInfo;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.servicefarm.api.Names;
import org.servicefarm.rest.internal.Problems.Problem;

/**
 * Authorization by the method that will run, never by the path: after resource matching, the
 * matched resource method's {@link RolesAllowed} (else its class's) names the logical roles
 * ({@link Roles}) that may call it, and the logged-in user must hold one of them. However a path
 * is spelled (matrix parameters, percent-encoding, slashes, dot segments, case), the role checked
 * is the one of the method the runtime chose. A method that declares no role is refused.
 * <p>
 * As a response filter it also guards what the runtime answers by itself without a resource
 * method (an OPTIONS request, CXF's WADL for {@code ?_wadl}, which CXF computes before any filter
 * of ours runs): a success that no role check let through is replaced by 401 for an anonymous
 * client and 403 for a logged-in one. Errors (404, 405 with its Allow header, ...) pass as they are.
 */
@Component(service = {ContainerRequestFilter.class, ContainerResponseFilter.class},
        configurationPid = RestConfig.PID)
@JaxrsExtension
@JaxrsName(RoleFilter.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@Priority(Priorities.AUTHORIZATION)
public class RoleFilter implements ContainerRequestFilter, ContainerResponseFilter {

    static final String NAME = "servicefarm-roles";

    /** Request property set once the role check let a request through. */
    private static final String AUTHORIZED = RoleFilter.class.getName() + ".authorized";

    /**
     * Matched by name rather than by class: a resource in another bundle may see
     * {@code javax.annotation.security} from another exporter (two are installed), and its annotation
     * must count all the same.
     */
    private static final String ROLES_ALLOWED = RolesAllowed.class.getName();

    @Context
    ResourceInfo resource;

    private final Roles roles;

    @Activate
    public RoleFilter(RestConfig config) {
        this.roles = new Roles(config);
    }

    @Override
    public void filter(ContainerRequestContext request) {
        Principal user = request.getSecurityContext() == null ? null : request.getSecurityContext().getUserPrincipal();
        if (user == null) {
            // The login filter runs first for every request; without it nothing is let through.
            request.abortWith(Problems.unauthorized(JaasAuthenticator.NO_LOGIN.reason()));
            return;
        }
        Method method = resource == null ? null : resource.getResourceMethod();
        List<String> allowed = method == null ? List.of() : rolesAllowed(method, resource.getResourceClass());
        for (String role : allowed) {
            if (request.getSecurityContext().isUserInRole(role)) {
                request.setProperty(AUTHORIZED, Boolean.TRUE);
                return;
            }
        }
        String needed = roles.leastJaasRole(allowed);
        String who = "user " + Names.excerpt(user.getName());
        request.abortWith(Problems.forbidden(needed == null ? who + " may not make this request: it is open to no role"
                : who + " lacks role " + needed + " for this request"));
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        if (response.getStatus() >= 400 || Boolean.TRUE.equals(request.getProperty(AUTHORIZED))) {
            return;
        }
        boolean anonymous = request.getSecurityContext() == null
                || request.getSecurityContext().getUserPrincipal() == null;
        Problem problem = anonymous
                ? Problems.unauthorizedProblem(JaasAuthenticator.NO_LOGIN.reason())
                : Problems.forbiddenProblem("this request is open to no role: it names no method of the API");
        response.getHeaders().clear();
        response.setStatus(problem.status());
        if (anonymous) {
            response.getHeaders().putSingle(HttpHeaders.WWW_AUTHENTICATE, Problems.CHALLENGE);
        }
        // Written as text: CXF may have been told to write this answer without message body writers (WADL).
        response.setEntity(Problems.text(problem), new Annotation[0], MediaType.valueOf(Problems.MEDIA_TYPE));
    }

    /** The logical roles of {@code method}'s RolesAllowed, else of its class's; empty when neither declares one. */
    static List<String> rolesAllowed(Method method, Class<?> resourceClass) {
        List<String> declared = declared(method);
        if (declared == null) {
            declared = declared(resourceClass == null ? method.getDeclaringClass() : resourceClass);
        }
        return declared == null ? List.of() : declared;
    }

    private static List<String> declared(AnnotatedElement element) {
        for (Annotation annotation : element.getAnnotations()) {
            if (annotation.annotationType().getName().equals(ROLES_ALLOWED)) {
                try {
                    return List.of((String[]) annotation.annotationType().getMethod("value").invoke(annotation));
                } catch (ReflectiveOperationException | ClassCastException e) {
                    return List.of();
                }
            }
        }
        return null;
    }
}
