package org.servicefarm.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told of what happens in the farm as it happens, so that a front end (dashboard, metrics) follows it without
 * polling. Register one as a service; every registered listener is told. Calls come from the manager's own threads,
 * some while a VM's row is locked (so a VM's changes arrive in the order they happened): a listener must return at
 * once, handing anything slow to a thread of its own, and must not throw.
 */
@ConsumerType
public interface FarmListener {

    /** A VM's row changed (new, moved to another state, granted again, ...); {@code vm} is the row now. */
    default void vmChanged(VmRecord vm) {
    }

    /**
     * A request was answered (by {@link ServiceManager#request} or {@link ServiceManager#requestAsync}); not called
     * for a malformed request, which is refused before it is a request.
     */
    default void answered(ServiceRequest request, Outcome outcome) {
    }
}
