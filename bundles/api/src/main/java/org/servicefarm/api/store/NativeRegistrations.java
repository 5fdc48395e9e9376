package org.servicefarm.api.store;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.NativeService;

/**
 * The services hosts run themselves that were added through an appliance's API, kept where every appliance sharing
 * the store finds them, as {@link HostRegistrations} keeps hosts: one added (or removed) on one appliance is added (or
 * removed) on the others. Those an appliance has from its own {@code etc/} files are its own and not in here.
 *
 * @since 1.6
 */
@ProviderType
public interface NativeRegistrations {

    /** Every native service registered farm-wide, by name. */
    List<NativeService> natives();

    /** Registers a native service farm-wide, or replaces its registration. */
    void put(NativeService service);

    /** Removes a native service's farm-wide registration; nothing if there is none. */
    void remove(String name);
}
