package org.servicefarm.core.internal;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.store.NativeRegistrations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the services hosts run themselves that were added through the API the same on every appliance sharing the
 * store, as {@link SharedHosts} keeps hosts ({@link FarmWide}): one added or removed here is registered or unregistered
 * farm-wide, and every {@link SharedHosts#FOLLOW_EVERY_S} s this appliance follows what the others did. Those of this
 * appliance's own {@code etc/} files are its own and never shared.
 */
@Component(service = SharedNatives.class)
public class SharedNatives {

    private static final Logger LOG = LoggerFactory.getLogger(SharedNatives.class);

    @Reference
    NativeServices natives;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile NativeRegistrations registrations;

    private final FarmWide<NativeService> farmWide = new FarmWide<>("Native service", NativeService::name);
    private ScheduledExecutorService follower;

    @Activate
    void activate() {
        follower = Daemons.scheduler("servicefarm-shared-natives");
        follower.scheduleWithFixedDelay(this::followQuietly, 1, SharedHosts.FOLLOW_EVERY_S, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        follower.shutdownNow();
    }

    /** Adds a native service here and registers it farm-wide. */
    NativeServiceStatus register(NativeService service) {
        NativeServiceStatus added = natives.register(service);
        farmWide.added(service, store());
        return added;
    }

    /** Removes a native service here and its farm-wide registration. */
    void unregister(String name) {
        natives.unregister(name);
        farmWide.removed(name, store());
    }

    private void followQuietly() {
        try {
            follow();
        } catch (RuntimeException e) {
            LOG.warn("Following the native services registered farm-wide failed; tried again in {} s: {}",
                    SharedHosts.FOLLOW_EVERY_S, e.getMessage());
        }
    }

    /** Makes this appliance's native services added through the API those registered farm-wide. */
    void follow() {
        farmWide.follow(store(), new FarmWide.Here<>(natives::configured, natives::register, natives::addedThroughApi,
                name -> natives.status(name).map(NativeServiceStatus::service), natives::unregister));
    }

    /** The native services registered farm-wide, or null without a store that keeps them. */
    private FarmWide.Store<NativeService> store() {
        NativeRegistrations shared = registrations;
        return shared == null ? null : new FarmWide.Store<>(shared::natives, shared::put, shared::remove);
    }
}
