package org.servicefarm.driver.libvirt.internal;

import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.StartedDetail;
import org.libvirt.event.StoppedDetail;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.driver.libvirt.internal.FarmDomains.Tracked;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns libvirt's lifecycle events for one host's farm domains into {@link VmEvent}s carrying the resting state
 * the guest reached, in libvirt's order, pairing them with the connection's own operations: the {@code STARTED}
 * event of a start or restore becomes {@code ACTIVE} only once the boot (or restore) time has passed too, because
 * only then is the guest serving; the {@code STOPPED} event of the connection's own destroy is withheld because
 * {@code DESTROYED} follows when libvirt undefines the domain. Other domains' events are ignored.
 */
final class LifecycleEvents implements LifecycleListener {

    private static final Logger LOG = LoggerFactory.getLogger(LifecycleEvents.class);

    private final String hostName;
    private final FarmDomains domains;
    private final Consumer<VmEvent> deliver;
    private final BooleanSupplier closed;

    LifecycleEvents(String hostName, FarmDomains domains, Consumer<VmEvent> deliver, BooleanSupplier closed) {
        this.hostName = hostName;
        this.domains = domains;
        this.deliver = deliver;
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
            if (type == DomainEventType.STARTED && detail != StartedDetail.WAKEUP) {
                // Events come in order, so this STARTED belongs to the oldest activation that has not seen one.
                for (Activation activation : tracked.activations) {
                    if (activation.eventArrived()) {
                        if (activation.complete()) {
                            tracked.activations.remove(activation);
                            deliver(tracked, VmState.ACTIVE, activation.detail);
                        }
                        return 0; // otherwise the operation delivers ACTIVE when its wait is over
                    }
                }
            }
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

    /** Registers a start or restore about to be carried out; its STARTED event waits for {@link #finish}. */
    Activation begin(Tracked tracked, String detail) {
        Activation activation = new Activation(detail);
        tracked.activations.add(activation);
        return activation;
    }

    /** Forgets an activation whose operation failed. */
    void abandon(Tracked tracked, Activation activation) {
        tracked.activations.remove(activation);
    }

    /**
     * Marks the guest serving. ACTIVE goes out once libvirt's STARTED event has been seen too, so it is never
     * delivered ahead of events libvirt queued before it (a save's ARCHIVED before a restore's ACTIVE).
     */
    void finish(Tracked tracked, Activation activation) {
        if (activation.waited() && activation.complete()) {
            tracked.activations.remove(activation);
            deliver(tracked, VmState.ACTIVE, activation.detail);
        }
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

    /** A start or restore: done when libvirt reported STARTED and the boot (or restore) time has passed. */
    static final class Activation {
        final String detail;
        private boolean eventSeen;
        private boolean waitOver;
        private boolean delivered;

        Activation(String detail) {
            this.detail = detail;
        }

        /** Records libvirt's STARTED event; false if this activation had already seen one. */
        synchronized boolean eventArrived() {
            if (eventSeen) {
                return false;
            }
            eventSeen = true;
            return true;
        }

        synchronized boolean waited() {
            waitOver = true;
            return true;
        }

        /** True exactly once: when both halves are in. */
        synchronized boolean complete() {
            if (delivered || !eventSeen || !waitOver) {
                return false;
            }
            delivered = true;
            return true;
        }
    }
}
