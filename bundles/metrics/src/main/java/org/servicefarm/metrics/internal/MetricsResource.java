package org.servicefarm.metrics.internal;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtensionSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;
import org.servicefarm.api.metrics.Metrics;

/**
 * {@code GET /metrics}: the farm's metrics as Prometheus text. Who may read them: a login with the REST API's role
 * {@code viewer} (so any API user), checked by the REST bundle's login and role filters, which this resource selects
 * by name: without them it is not served at all. Metrics name hosts and their use, which an anonymous client must not
 * learn; Prometheus scrapes with {@code basic_auth}.
 */
@Component(service = MetricsResource.class)
@JaxrsResource
@JaxrsName("servicefarm-metrics")
@JaxrsExtensionSelect({"(osgi.jaxrs.name=servicefarm-request-id)", "(osgi.jaxrs.name=servicefarm-login)",
        "(osgi.jaxrs.name=servicefarm-roles)", "(osgi.jaxrs.name=servicefarm-wadl-off)",
        "(osgi.jaxrs.name=servicefarm-problems)"})
@Path("metrics")
public class MetricsResource {

    /** The same service farm:metrics calls (this bundle's {@link FarmMetrics}). */
    private final Metrics metrics;

    @Activate
    public MetricsResource(@Reference Metrics metrics) {
        this.metrics = metrics;
    }

    @GET
    @Produces(Metrics.PROMETHEUS_TEXT)
    @RolesAllowed("viewer")
    public String scrape() {
        return metrics.scrape();
    }
}
