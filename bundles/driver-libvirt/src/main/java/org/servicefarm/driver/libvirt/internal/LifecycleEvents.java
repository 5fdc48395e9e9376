package org.servicefarm.driver.libvirt.internal;

import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.StoppedDetail;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.driver.libvirt.internal.FarmDomains.Tracked;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns libvirt's lifecycle events for one host's farm domains into {@link VmEvent}s carrying the resting state
 * the guest reached, in libvirt's order, pairing them with the connection's own operations: the {@code STOPPED}
 * event of the connection's own destroy is withheld, because {@code DESTROYED} follows when libvirt undefines the
 * domain. Every farm domain's event also goes to an {@link Observer} (a test host's simulated guests follow them).
 * Other domains' events are ignored.
 */
final class LifecycleEvents implements LifecycleListener {

    /** Sees every lifecycle event of a farm domain, as libvirt reported it. */
    @FunctionalInterface
    interface Observer {
        void observed(String vmId, DomainEventType type, Object detail);
    }

    private static final Logger LOG = LoggerFactory.getLogger(LifecycleEvents.class);

    private final String hostName;
    private final FarmDomains domains;
    private final Consumer<VmEvent> deliver;
    private final Observer observer;
    private final BooleanSupplier closed;

    LifecycleEvents(String hostName, FarmDomains domains, Consumer<VmEvent> deliver, Observer observer,
                    BooleanSupplier closed) {
        this.hostName = hostName;
        this.domains = domains;
        this.deliver = deliver;
        this.observer = observer;
        this.closed = closed;
    }

    @Override
    public int onLifecycleChange(Domain domain, DomainEvent event) {
        try {
            if (closed.getAsBoolean()) {
                return 0;
            }
            Tracked tracked = domains.get(DomainXml.vmIdOf(domain.getName()));
            if (tracked == null || !tracked.uuid.equals(domain.getUUIDString())) {
                return 0; // not the farm's, or a late event of a domain that had the same name before
            }
            DomainEventType type = event.getType();
            Object detail = event.getDetail();
            observer.observed(tracked.vmId(), type, detail);
            if (type == DomainEventType.STOPPED && detail == StoppedDetail.DESTROYED
                    && tracked.expectedDestroyStops.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                return 0; // our own destroy: DESTROYED follows with UNDEFINED
            }
            if (type == DomainEventType.UNDEFINED) {
                domains.forget(tracked);
            }
            VmState observed = GuestStates.observedState(type, detail);
            if (observed != null) {
                deliver(tracked, observed, event.toString().toLowerCase(Locale.ROOT));
            }
        } catch (LibvirtException | RuntimeException e) {
            LOG.warn("host {}: could not handle a lifecycle event: {}", hostName, e instanceof LibvirtException le
                    ? LibvirtErrors.describe(le) : LibvirtErrors.shown(e.toString()));
        }
        return 0;
    }

    /** The connection is about to destroy a running domain: its STOPPED event is withheld. */
    void expectDestroyStop(Tracked tracked) {
        tracked.expectedDestroyStops.incrementAndGet();
    }

    /** The destroy failed: no STOPPED event is coming for it. */
    void destroyStopNotComing(Tracked tracked) {
        tracked.expectedDestroyStops.decrementAndGet();
    }

    private void deliver(Tracked tracked, VmState observed, String detail) {
        deliver.accept(new VmEvent(hostName, tracked.vmId(), observed, detail));
    }
}
