package org.servicefarm.core.internal;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.store.HostDrains;
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
 * <p>
 * Drains of any host are kept the same way when the store keeps them ({@link HostDrains}): the store is their truth,
 * written before a drain or an undrain here is answered, read at activation (before this appliance places anything)
 * and followed in the same rounds; the {@link HostIndex} shows them to placement. Without such a store, drains are
 * kept in the index alone.
 */
@Component(service = SharedHosts.class)
public class SharedHosts {

    private static final Logger LOG = LoggerFactory.getLogger(SharedHosts.class);
    static final long FOLLOW_EVERY_S = 5;

    @Reference
    HostRegistry registry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile HostRegistrations registrations;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile HostDrains drains;

    /** The lifecycle sweeper, once it is active: a drain, here or followed, asks it to move the host's VMs away now. */
    volatile Lifecycle lifecycle;

    /** The hosts added through the APIs of the appliances sharing the store. */
    private final FarmWide<HostRecord> farmWide = new FarmWide<>("Host", HostRecord::name);
    /**
     * The drains this appliance saw in {@link #drainsSeenIn}: one gone from there was undrained elsewhere. Guarded by
     * this object's lock, as every drain and follow of drains is: a follow that read the store before a drain here
     * must not undo it.
     */
    private final Set<String> drainsSeen = new HashSet<>();
    private HostDrains drainsSeenIn;
    private ScheduledExecutorService follower;

    @Activate
    void activate() {
        quietly("the hosts drained farm-wide", this::followDrains); // before anything is placed: the manager waits
        follower = Daemons.scheduler("servicefarm-shared-hosts");
        follower.scheduleWithFixedDelay(this::followQuietly, 1, FOLLOW_EVERY_S, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        follower.shutdownNow();
    }

    /** Adds a host here and registers it farm-wide. */
    HostStatus register(HostRecord host) {
        HostStatus added = registry.register(host);
        farmWide.added(host, store());
        return added;
    }

    /** Removes a host here and its farm-wide registration. */
    void unregister(String name) {
        registry.unregister(name);
        farmWide.removed(name, store());
    }

    /** The hosts registered farm-wide, or null without a store that keeps them. */
    private FarmWide.Store<HostRecord> store() {
        HostRegistrations shared = registrations;
        return shared == null ? null : new FarmWide.Store<>(shared::hosts, shared::put, shared::remove);
    }

    private void followQuietly() {
        quietly("the hosts registered farm-wide", this::follow);
        quietly("the hosts drained farm-wide", this::followDrains);
    }

    private static void quietly(String what, Runnable follow) {
        try {
            follow.run();
        } catch (RuntimeException e) {
            LOG.warn("Following {} failed; tried again in {} s: {}", what, FOLLOW_EVERY_S, e.getMessage());
        }
    }

    /** Makes this appliance's hosts added through the API those registered farm-wide. */
    void follow() {
        farmWide.follow(store(), new FarmWide.Here<>(registry::configured, registry::register,
                registry::addedThroughApi, name -> registry.status(name).map(HostStatus::host), registry::unregister));
    }

    /**
     * Drains or undrains a host: in the store first when it keeps drains, then here. A drain the store could not keep
     * is refused and changes nothing.
     *
     * @throws NotFoundException     if no host of that name is configured here
     * @throws IllegalStateException if the store could not be written
     */
    synchronized HostStatus drain(String name, boolean drained) {
        if (registry.status(name).isEmpty()) {
            throw new NotFoundException("no host named " + Names.excerpt(name));
        }
        HostDrains store = drains;
        if (store != null) {
            store.drain(name, drained);
            if (drained) {
                drainsSeen(store).add(name);
            } else {
                drainsSeen(store).remove(name);
            }
        }
        HostStatus status = registry.drain(name, drained);
        if (drained) {
            sweepSoon();
        }
        return status;
    }

    /**
     * Makes the drains here those the store holds: a host drained elsewhere (or before a restart) is drained here, and
     * its VMs are moved away as after a drain here; one undrained elsewhere is undrained. A host drained here that the
     * store never had (drained while no store kept drains, or in another database) is drained farm-wide, not
     * undrained: only a drain this appliance saw in the store and that then went counts as an undrain.
     */
    synchronized void followDrains() {
        HostDrains store = drains;
        if (store == null) {
            return;
        }
        Map<String, HostDrains.Drain> farmWide = new TreeMap<>();
        store.drains().forEach(drain -> farmWide.put(drain.host(), drain));
        Set<String> seen = drainsSeen(store);
        HostIndex index = registry.index;
        Set<String> here = index.drained();
        for (String name : here) {
            if (farmWide.containsKey(name)) {
                continue;
            }
            if (seen.remove(name)) {
                index.markDrained(name, false);
                LOG.info("Host {} undrained by another appliance is undrained here", name);
            } else {
                store.drain(name, true);
                seen.add(name);
                LOG.info("Host {} drained here before the store kept it is drained farm-wide", name);
            }
        }
        boolean drainedNow = false;
        for (HostDrains.Drain drain : farmWide.values()) {
            seen.add(drain.host());
            if (!here.contains(drain.host())) {
                index.markDrained(drain.host(), true);
                LOG.info("Host {} is drained here: drained farm-wide since {} by {}", drain.host(), drain.since(),
                        drain.appliance());
                drainedNow = true;
            }
        }
        if (drainedNow) {
            sweepSoon();
        }
    }

    /** The drains seen in {@code store}; none were seen in a store other than the last one (another database). */
    private Set<String> drainsSeen(HostDrains store) {
        if (store != drainsSeenIn) {
            drainsSeen.clear();
            drainsSeenIn = store;
        }
        return drainsSeen;
    }

    /** Has the lifecycle move the VMs of drained hosts away now, not at its next sweep (if this appliance leads). */
    private void sweepSoon() {
        Lifecycle sweeper = lifecycle;
        if (sweeper != null) {
            sweeper.sweepSoon();
        }
    }
}
