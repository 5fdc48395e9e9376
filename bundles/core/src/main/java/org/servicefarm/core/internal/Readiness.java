package org.servicefarm.core.internal;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.servicefarm.api.Endpoint;

/**
 * Tells when a VM's services answer on their endpoints: in the appliance by connecting to them
 * ({@link EndpointProbe}); in a trace replay, when the replay's simulated guests come up on its virtual clock.
 */
interface Readiness extends AutoCloseable {

    /** Completes once every endpoint answers; fails once one does not within {@code timing}'s limit. */
    CompletableFuture<Void> await(Map<String, Endpoint> endpoints, EndpointProbe.Timing timing);

    @Override
    void close();
}
