package org.servicefarm.rest.internal;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.LongSupplier;

import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.ReferenceDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;

/**
 * The API's resources whose services are about to be registered: resource components of the REST bundle that select
 * the API's application and wait only for services that are registered now. The Service Component Runtime takes a
 * service event in one component after another, and registers each component's service inside it, while the
 * whiteboard rebuilds the API inside each registration (100-300 ms): at boot the request resource was served while
 * the VM resource, satisfied by the same core service, was not registered yet, and {@code GET /api/v1/vms} got a 404
 * "not found" problem. Counting the components does not make the API wait for one whose dependency is absent (its
 * provider's bundle stopped: it does not come). The runtime's DTOs are read before the services registered
 * (the filter's verdict reads the whiteboard's DTO last): a request once met a ready verdict whose service list was
 * read before the VM resource registered and whose component DTOs after.
 * <p>
 * A component counts as coming for at most {@link #LIMIT_NANOS} (a reference the runtime cannot take although its
 * service is there must not hold the API at 503): the first time each was seen coming is this class's state.
 */
final class ComingResources {

    static final long LIMIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final LongSupplier nanos;
    /** When each component configuration (by its id) was first seen coming; dropped once it is not. */
    private final Map<Long, Long> firstSeen = new ConcurrentHashMap<>();

    ComingResources(LongSupplier nanos) {
        this.nanos = nanos;
    }

    /**
     * The bundle's API resources whose services are or will shortly be registered, by component configuration id:
     * those satisfied (a satisfied configuration may not have registered its service yet) and those waiting only for
     * services registered now. Read before the services registered ({@link #count}), so that a resource whose service
     * is registered in between is seen in one or the other.
     *
     * @param available whether a service of this interface (first) matching this filter (second, {@code null}: any)
     *                  is registered now
     */
    Set<Long> expected(ServiceComponentRuntime scr, Bundle bundle, BiPredicate<String, String> available) {
        Set<Long> expected = new HashSet<>();
        for (ComponentDescriptionDTO description : scr.getComponentDescriptionDTOs(bundle)) {
            if (!isApiResource(description)) {
                continue;
            }
            for (ComponentConfigurationDTO configuration : scr.getComponentConfigurationDTOs(description)) {
                if (configuration.state == ComponentConfigurationDTO.SATISFIED
                        || configuration.state == ComponentConfigurationDTO.ACTIVE
                        || configuration.state == ComponentConfigurationDTO.UNSATISFIED_REFERENCE
                        && satisfiableNow(description, configuration, available)) {
                    expected.add(configuration.id);
                }
            }
        }
        return expected;
    }

    /**
     * How many of the API's resources are coming: expected and not registered, each for at most {@link #LIMIT_NANOS}.
     *
     * @param expected   what {@link #expected} gave, read before {@code registered}
     * @param registered the component ids of the API's resources whose services are registered now
     */
    int count(Set<Long> expected, Set<Long> registered) {
        Set<Long> coming = new HashSet<>(expected);
        coming.removeAll(registered);
        long now = nanos.getAsLong();
        firstSeen.keySet().retainAll(coming);
        int count = 0;
        for (Long id : coming) {
            if (now - firstSeen.computeIfAbsent(id, k -> now) < LIMIT_NANOS) {
                count++;
            }
        }
        return count;
    }

    static boolean isApiResource(ComponentDescriptionDTO description) {
        Map<String, Object> properties = description.properties;
        return properties != null && ApiStartingFilter.isApiResource(properties::get);
    }

    /**
     * Every reference the configuration waits for has a service registered now (the runtime is taking it in). None
     * listed counts too: Felix SCR reports a configuration it is satisfying as unsatisfied with no reference missing
     * (a request met that once, between the VM resource's reference bound and its service registered).
     */
    private static boolean satisfiableNow(ComponentDescriptionDTO description, ComponentConfigurationDTO configuration,
                                          BiPredicate<String, String> available) {
        UnsatisfiedReferenceDTO[] waiting = configuration.unsatisfiedReferences;
        for (UnsatisfiedReferenceDTO reference : waiting == null ? new UnsatisfiedReferenceDTO[0] : waiting) {
            ReferenceDTO declared = description.references == null ? null : Arrays.stream(description.references)
                    .filter(r -> r.name.equals(reference.name)).findFirst().orElse(null);
            if (declared == null || !available.test(declared.interfaceName, reference.target)) {
                return false;
            }
        }
        return true;
    }
}
