package org.servicefarm.api.keepalive;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The keep-alive policy in force as operators see it (the lifecycle provides it): its name and what it has learned of
 * each combination.
 */
@ProviderType
public interface KeepAliveView {

    /** The policy in force's {@link KeepAlivePolicy#NAME}, empty when none is (VMs then stay as they are). */
    Optional<String> policy();

    /** What the policy in force has learned of each combination, by offering; empty when it learns nothing. */
    List<KeepAliveOutlook> outlook();
}
