package org.servicefarm.rest.internal;

import java.util.HashSet;
import java.util.Set;

import org.osgi.service.jaxrs.runtime.dto.ApplicationDTO;
import org.osgi.service.jaxrs.runtime.dto.FailedResourceDTO;
import org.osgi.service.jaxrs.runtime.dto.ResourceDTO;
import org.osgi.service.jaxrs.runtime.dto.RuntimeDTO;

/**
 * Whether the JAX-RS whiteboard serves the API whole, read from its runtime's DTO: the request resource (the
 * API's reason to be) is registered, every resource registered for the API's application is served by it or was
 * refused by the whiteboard (a refused one will not come: it must not hold the API back), and none is about to be
 * registered ({@link ComingResources}).
 *
 * @param ready  the API answers as it should
 * @param detail why not, for the client; {@code null} when ready
 */
record ApiServing(boolean ready, String detail) {

    static final ApiServing READY = new ApiServing(true, null);

    /**
     * @param runtime    the whiteboard's runtime DTO
     * @param registered the service ids of the resources registered for the API's application
     * @param requests   the service id of the request resource, {@code null} while it is not registered (the core,
     *                   which it needs, is starting or stopped)
     * @param coming     how many of the API's resources are about to be registered
     */
    static ApiServing of(RuntimeDTO runtime, Set<Long> registered, Long requests, int coming) {
        if (requests == null) {
            return new ApiServing(false, "the farm's core is not running yet");
        }
        ApplicationDTO api = null;
        for (ApplicationDTO application : runtime.applicationDTOs == null ? new ApplicationDTO[0]
                : runtime.applicationDTOs) {
            if (ApiApplication.NAME.equals(application.name)) {
                api = application;
            }
        }
        if (api == null) {
            return new ApiServing(false, "the API is not published yet");
        }
        Set<Long> settled = new HashSet<>();
        for (ResourceDTO resource : api.resourceDTOs == null ? new ResourceDTO[0] : api.resourceDTOs) {
            settled.add(resource.serviceId);
        }
        boolean requestsServed = settled.contains(requests);
        boolean requestsFailed = false;
        for (FailedResourceDTO failed : runtime.failedResourceDTOs == null ? new FailedResourceDTO[0]
                : runtime.failedResourceDTOs) {
            settled.add(failed.serviceId);
            requestsFailed |= failed.serviceId == requests;
        }
        if (requestsFailed && !requestsServed) {
            // not a moment of a start: it stays so until the core is mended and restarted
            return new ApiServing(false, "the farm's core does not start: the appliance's log says why");
        }
        long waiting = registered.stream().filter(id -> !settled.contains(id)).count();
        if (!requestsServed || waiting > 0 || coming > 0) {
            return new ApiServing(false, "the API is being published: " + (registered.size() - waiting) + " of "
                    + (registered.size() + coming) + " resources so far");
        }
        return READY;
    }
}
