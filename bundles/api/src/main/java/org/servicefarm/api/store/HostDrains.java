package org.servicefarm.api.store;

import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Which hosts an operator drained, kept where a restart does not forget them and where every appliance sharing the
 * store finds them: no appliance places a new VM on a host drained on any of them. Any host may be drained, whether
 * an appliance has it from its own {@code etc/} files or from the API ({@link HostRegistrations} holds the latter
 * only), so drains are kept by host name beside the registrations. Provided by a store that outlives the appliance;
 * without one, an appliance keeps its drains in memory.
 *
 * @since 1.4
 */
@ProviderType
public interface HostDrains {

    /** Every host drained farm-wide, by name. */
    List<Drain> drains();

    /**
     * Drains a host farm-wide ({@code drained} true), or undrains it. Draining a drained host keeps when and by whom
     * it was first drained; undraining a host that is not drained does nothing.
     *
     * @throws IllegalStateException if the store could not be written: the drain is as it was
     */
    void drain(String host, boolean drained);

    /**
     * One drained host.
     *
     * @param host      the host's name
     * @param since     when it was drained, by the store's clock
     * @param appliance the appliance that drained it
     */
    record Drain(String host, Instant since, String appliance) {
    }
}
