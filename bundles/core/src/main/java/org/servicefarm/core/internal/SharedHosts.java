package org.servicefarm.core.internal;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.store.HostRegistrations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the hosts added through the API the same on every appliance sharing the store: a host added or removed here
 * is registered or unregistered farm-wide ({@link HostRegistrations}), and every few seconds this appliance follows
 * what the others did: it configures the hosts registered elsewhere, and removes those unregistered elsewhere once no
 * VM occupies them here. A host added through the API before the store knew it (an earlier run, another database) is
 * registered, not removed: only a registration this appliance saw and that then went counts as a removal. The hosts of
 * this appliance's own {@code etc/} files are its own and never shared.
 */
@Component(service = SharedHosts.class)
public class SharedHosts {

    private static final Logger LOG = LoggerFactory.getLogger(SharedHosts.class);
    static final long FOLLOW_EVERY_S = 5;

    @Reference
    HostRegistry registry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile HostRegistrations registrations;

    /** The hosts this appliance saw registered farm-wide: one of them gone from the store was removed elsewhere. */
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    /** Hosts registered elsewhere that this appliance refuses (e.g. its driver is missing): said once each. */
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService follower;

    @Activate
    void activate() {
        follower = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-shared-hosts");
            t.setDaemon(true);
            return t;
        });
        follower.scheduleWithFixedDelay(this::followQuietly, 1, FOLLOW_EVERY_S, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        follower.shutdownNow();
    }

    /** Adds a host here and registers it farm-wide. */
    HostStatus register(HostRecord host) {
        HostStatus added = registry.register(host);
        HostRegistrations shared = registrations;
        if (shared != null) {
            try {
                shared.put(host);
                seen.add(host.name());
            } catch (RuntimeException e) { // the host runs here; the next follow publishes it
                LOG.warn("Host {} was added here but not registered farm-wide yet: {}", host.name(), e.getMessage());
            }
        }
        return added;
    }

    /** Removes a host here and its farm-wide registration. */
    void unregister(String name) {
        registry.unregister(name);
        HostRegistrations shared = registrations;
        if (shared != null) {
            seen.remove(name);
            shared.remove(name);
        }
    }

    private void followQuietly() {
        try {
            follow();
        } catch (RuntimeException e) {
            LOG.warn("Following the hosts registered farm-wide failed; tried again in {} s: {}", FOLLOW_EVERY_S,
                    e.getMessage());
        }
    }

    /** Makes this appliance's hosts added through the API those registered farm-wide. */
    void follow() {
        HostRegistrations shared = registrations;
        if (shared == null) {
            return;
        }
        List<HostRecord> hosts = shared.hosts();
        Set<String> names = new TreeSet<>();
        for (HostRecord host : hosts) {
            names.add(host.name());
            if (registry.configured(host.name())) {
                continue;
            }
            try {
                registry.register(host);
                LOG.info("Host {} registered by another appliance is added here", host.name());
            } catch (InvalidRequestException | IllegalStateException e) { // a conflict, a driver missing here
                if (refused.add(host.name())) {
                    LOG.warn("Host {} registered by another appliance is not added here: {}", host.name(),
                            e.getMessage());
                }
            }
        }
        for (String name : registry.addedThroughApi()) {
            if (names.contains(name)) {
                continue;
            }
            if (!seen.contains(name)) { // added here before the store knew it: published
                registry.status(name).map(HostStatus::host).ifPresent(shared::put);
                names.add(name);
                continue;
            }
            try {
                registry.unregister(name);
                seen.remove(name);
                LOG.info("Host {} unregistered by another appliance is removed here", name);
            } catch (ConflictException e) {
                LOG.debug("Host {} unregistered elsewhere still holds VMs here: {}", name, e.getMessage());
            }
        }
        seen.addAll(names);
    }
}
