package org.servicefarm.api.driver;

import org.osgi.annotation.versioning.ProviderType;

/** Receives the lifecycle events of a host connection; called from the driver's event thread. */
@ProviderType
@FunctionalInterface
public interface VmEventListener {
    void onEvent(VmEvent event);
}
