package org.servicefarm.driver.libvirt.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands {@link VmEvent}s to the listeners on one thread of the driver's own, in the order they were
 * observed. Listeners never run on libvirt's event loop thread, so a listener that calls back into a
 * host connection cannot stall the loop, and a slow listener delays only other listeners.
 */
final class EventDispatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventDispatcher.class);

    private final ExecutorService executor = Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "servicefarm-libvirt-events");
        thread.setDaemon(true);
        return thread;
    });
    private final java.util.Map<LibvirtHostConnection, VmEventListener> listeners =
            new java.util.concurrent.ConcurrentHashMap<>();

    void register(LibvirtHostConnection connection, VmEventListener listener) {
        listeners.put(connection, listener);
    }

    void unregister(LibvirtHostConnection connection) {
        listeners.remove(connection);
    }

    /** Queues an event for the listener of {@code connection}; dropped if that connection is closed by then. */
    void dispatch(LibvirtHostConnection connection, VmEvent event) {
        try {
            executor.execute(() -> {
                VmEventListener listener = listeners.get(connection);
                if (listener == null || connection.isClosed()) {
                    return;
                }
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    LOG.warn("the listener of host {} failed on {}: {}", event.host(), event, e.toString(), e);
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.debug("driver stopped; dropped {}", event);
        }
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
