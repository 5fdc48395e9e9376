package org.servicefarm.rest.internal;

import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;

import org.apache.cxf.jaxrs.model.wadl.WadlGenerator;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;

/**
 * Switches off CXF's WADL, the XML map of every resource that CXF answers to {@code ?_wadl} on any
 * path. CXF has no setting for it, and its generator is always the first pre-matching filter,
 * ahead of any priority, so it would answer before the login. CXF takes any registered provider
 * that is a {@link WadlGenerator} in place of its own: this one describes nothing, so that
 * {@code _wadl} is an ordinary query parameter, and the request is logged in and authorized like
 * any other. (Should CXF answer by itself all the same, {@link RoleFilter} refuses the answer.)
 */
@Component(service = ContainerRequestFilter.class)
@JaxrsExtension
@JaxrsName(WadlOff.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
public class WadlOff extends WadlGenerator {

    static final String NAME = "servicefarm-wadl-off";

    @Override
    public void filter(ContainerRequestContext request) {
        // Nothing: no request is answered with a description of the API.
    }
}
