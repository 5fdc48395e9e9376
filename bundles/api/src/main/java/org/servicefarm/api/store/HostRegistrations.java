package org.servicefarm.api.store;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.HostRecord;

/**
 * The hosts added to the farm through an appliance's API, kept where every appliance sharing the store finds them:
 * a host added (or removed) on one is added (or removed) on the others. Hosts an appliance has from its own
 * {@code etc/} files are its own and not in here. Provided by a store shared by several appliances; without one an
 * appliance's hosts are its configuration alone.
 */
@ProviderType
public interface HostRegistrations {

    /** Every host registered farm-wide, by name. */
    List<HostRecord> hosts();

    /** Registers a host farm-wide, or replaces its registration. */
    void put(HostRecord host);

    /** Removes a host's farm-wide registration; nothing if there is none. */
    void remove(String name);
}
