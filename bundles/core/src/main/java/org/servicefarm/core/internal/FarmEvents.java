package org.servicefarm.core.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.osgi.service.component.ComponentServiceObjects;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.driver.StagingSpace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells every registered {@link FarmListener} what happens: the state table's row changes, the manager's answers and
 * the keep-alive decisions the lifecycle carries out.
 * A listener that throws is logged and does not stop the others, nor the change it was told of.
 * <p>
 * A listener service is got when it is first told something, not when it is bound: the dashboard's feed and the
 * metrics listen and also use the service manager, which needs the state table, which needs this; got at bind time,
 * while the state table was being activated, each boot logged that cycle as a dozen framework errors.
 */
@Component(service = FarmEvents.class)
public class FarmEvents {

    private static final Logger LOG = LoggerFactory.getLogger(FarmEvents.class);

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** A bound listener, got from the framework on first use (or given as an object, outside OSGi). */
    private static final class Listener {
        final ComponentServiceObjects<FarmListener> service;
        volatile FarmListener got;

        Listener(ComponentServiceObjects<FarmListener> service, FarmListener got) {
            this.service = service;
            this.got = got;
        }

        FarmListener get() {
            FarmListener listener = got;
            if (listener == null) {
                synchronized (this) {
                    if (got == null) {
                        got = service.getService();
                    }
                    listener = got;
                }
            }
            return listener;
        }

        synchronized void release() {
            if (service != null && got != null) {
                service.ungetService(got);
            }
            got = null;
        }
    }

    @Reference(name = "listener", service = FarmListener.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, unbind = "unbindListener")
    void bindListener(ComponentServiceObjects<FarmListener> listener) {
        listeners.add(new Listener(listener, null));
    }

    void unbindListener(ComponentServiceObjects<FarmListener> listener) {
        for (Listener bound : listeners) {
            if (bound.service == listener) {
                listeners.remove(bound);
                bound.release();
            }
        }
    }

    /** Adds a listener object (outside OSGi: tests, the trace replay). */
    void addListener(FarmListener listener) {
        listeners.add(new Listener(null, listener));
    }

    void vmChanged(VmRecord vm) {
        tell(listener -> listener.vmChanged(vm), "a change of VM " + vm.id());
    }

    void answered(ServiceRequest request, Outcome outcome) {
        tell(listener -> listener.answered(request, outcome), "an answer");
    }

    void keepAliveDecided(String policy, FarmListener.KeepAlive decision, ArchiveTier tier) {
        tell(listener -> listener.keepAliveDecided(policy, decision, tier), "a keep-alive decision");
    }

    void unstaged(String host, String label, long bytes) {
        tell(listener -> listener.unstaged(host, label, bytes), "staged content deleted");
    }

    void stagingSpaceRead(String host, StagingSpace space) {
        tell(listener -> listener.stagingSpaceRead(host, space), "a staging space read");
    }

    private void tell(Consumer<FarmListener> event, String what) {
        for (Listener bound : listeners) {
            try {
                FarmListener listener = bound.get();
                if (listener != null) {
                    event.accept(listener);
                }
            } catch (RuntimeException e) {
                LOG.warn("A farm listener failed on {}", what, e);
            }
        }
    }
}
