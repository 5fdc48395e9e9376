package org.servicefarm.api.eviction;

import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides what goes first when space or a cap runs out. One policy is in force for the VM cap
 * and one for the image store, each chosen by configuration.
 */
@ConsumerType
public interface EvictionPolicy {

    /** Service property (String): the policy's name, e.g. {@code lru}. */
    String NAME = "eviction.name";

    /**
     * Orders the candidates, the first to evict first. May leave out candidates it would
     * never evict. Must not modify {@code candidates}.
     */
    List<EvictionCandidate> rank(List<EvictionCandidate> candidates, Instant now);
}
