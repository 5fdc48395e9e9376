package org.servicefarm.api.reuse;

import java.util.Objects;

/**
 * The requesting client's tier, as the core's configuration sets it.
 *
 * @param name          the tier's name, e.g. {@code premium}
 * @param maxReplicas   the most VMs one offering should have for requests of this tier
 * @param loadThreshold the load ({@link ReusableVm#load}) above which a VM counts as busy for this tier
 */
public record ReuseTier(String name, int maxReplicas, double loadThreshold) {
    public ReuseTier {
        Objects.requireNonNull(name, "name");
    }
}
