package org.servicefarm.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The {@link ServiceManager} of this appliance's own farm: the one that holds its hosts, VMs and state table, as
 * opposed to one that forwards to another appliance (a directory appliance's remote manager, registered as a
 * {@link ServiceManager} only). What must speak for this appliance whatever else is registered binds this type: a
 * reference by type alone cannot be taken by another implementation in the order services happen to come up (Karaf's
 * shell keeps the first {@link ServiceManager} it finds, and its first lookup ignores a reference's filter).
 *
 * @since 1.12
 */
@ConsumerType
public interface LocalServiceManager extends ServiceManager {
}
