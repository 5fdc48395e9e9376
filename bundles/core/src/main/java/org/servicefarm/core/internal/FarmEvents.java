package org.servicefarm.core.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells every registered {@link FarmListener} what happens: the state table's row changes, the manager's answers and
 * the keep-alive decisions the lifecycle carries out.
 * A listener that throws is logged and does not stop the others, nor the change it was told of.
 */
@Component(service = FarmEvents.class)
public class FarmEvents {

    private static final Logger LOG = LoggerFactory.getLogger(FarmEvents.class);

    private final List<FarmListener> listeners = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(FarmListener listener) {
        listeners.add(listener);
    }

    void removeListener(FarmListener listener) {
        listeners.remove(listener);
    }

    void vmChanged(VmRecord vm) {
        for (FarmListener listener : listeners) {
            try {
                listener.vmChanged(vm);
            } catch (RuntimeException e) {
                LOG.warn("A farm listener failed on a change of VM {}", vm.id(), e);
            }
        }
    }

    void answered(ServiceRequest request, Outcome outcome) {
        for (FarmListener listener : listeners) {
            try {
                listener.answered(request, outcome);
            } catch (RuntimeException e) {
                LOG.warn("A farm listener failed on an answer", e);
            }
        }
    }

    void keepAliveDecided(String policy, FarmListener.KeepAlive decision, ArchiveTier tier) {
        for (FarmListener listener : listeners) {
            try {
                listener.keepAliveDecided(policy, decision, tier);
            } catch (RuntimeException e) {
                LOG.warn("A farm listener failed on a keep-alive decision", e);
            }
        }
    }
}
