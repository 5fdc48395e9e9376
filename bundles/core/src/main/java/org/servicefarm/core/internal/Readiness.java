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

    /**
     * Completes once a woken (resumed or restored) VM's endpoints answer. One that answered on these endpoints when
     * it was suspended or saved answers as soon as it runs again (its memory, listening sockets included, is as it
     * was): no probe.
     */
    default CompletableFuture<Void> awaitWoken(Map<String, Endpoint> endpoints, boolean answeredWhenStopped,
                                               EndpointProbe.Timing timing) {
        return answeredWhenStopped ? CompletableFuture.completedFuture(null) : await(endpoints, timing);
    }

    @Override
    void close();
}
