package org.servicefarm.api.store;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Secret keys shared by the appliances of one store, for what one appliance signs and another checks (a retry
 * ticket one answered, brought back to another by a load balancer), and kept across restarts. Provided by a store;
 * without one, an appliance draws its own keys at start.
 *
 * @since 1.4
 */
@ProviderType
public interface FarmKeys {

    /**
     * The key named {@code name} (letters, digits, '.', '-'), at least 32 random bytes: made by the first appliance
     * that asks for it, the same for every appliance of the store from then on.
     *
     * @throws IllegalStateException if the store cannot be read or written
     */
    byte[] key(String name);
}
