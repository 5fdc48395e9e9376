package org.servicefarm.rest.internal;

import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;

/**
 * The extensions every resource of the API selects ({@code @JaxrsExtensionSelect}), so that the
 * whiteboard serves it only while they are all present: the request id, the login and the role check (never a
 * resource without them, not even while their configuration changes), CXF's WADL switched off,
 * the JSON provider, the mappers that answer errors as problems, and the API's "starting" check.
 * <p>
 * {@code @JSONRequired} sets the same service property as {@code @JaxrsExtensionSelect}, and bnd
 * keeps the last one only: the resources therefore repeat {@link JSONRequired#FILTER} in their
 * selection, and keep {@code @JSONRequired} for the requirement it adds to the manifest.
 */
final class Extensions {

    static final String LOGIN = "(osgi.jaxrs.name=" + LoginFilter.NAME + ")";
    static final String ROLES = "(osgi.jaxrs.name=" + RoleFilter.NAME + ")";
    static final String JSON = "(osgi.jaxrs.name=" + JsonProvider.NAME + ")";
    static final String PROBLEMS = "(osgi.jaxrs.name=" + ProblemMapper.NAME + ")";
    static final String JSON_PROBLEMS = "(osgi.jaxrs.name=" + JsonProblemMapper.NAME + ")";
    static final String REQUEST_ID = "(osgi.jaxrs.name=" + RequestIdFilter.NAME + ")";
    static final String WADL_OFF = "(osgi.jaxrs.name=" + WadlOff.NAME + ")";
    static final String STARTING = "(osgi.jaxrs.name=" + ApiStartingRequestFilter.NAME + ")";

    private Extensions() {
    }
}
