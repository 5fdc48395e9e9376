package org.servicefarm.images.internal;

import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.servicefarm.api.store.ImageCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the image catalog in the store, when there is one, in step with an image cache: once, the use kept there
 * before this start is restored to the cache; then every second the catalog is written as the cache is (the store
 * writes only what changed). Behind the cache, on a thread of its own, never on a request's path; never interrupted
 * (an interrupt during H2's I/O closes its database file).
 */
final class CatalogSync {

    private static final Logger LOG = LoggerFactory.getLogger(CatalogSync.class);
    static final long PERIOD_MS = 1000;

    private final ImageCache cache;
    private final Supplier<ImageCatalog> catalog;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "servicefarm-image-catalog");
        t.setDaemon(true);
        return t;
    });
    // only touched under this object's lock
    private boolean restored;
    private String lastProblem;

    /** @param catalog the catalog in the store now, or null while there is none */
    CatalogSync(ImageCache cache, Supplier<ImageCatalog> catalog) {
        this.cache = cache;
        this.catalog = catalog;
    }

    void start() {
        thread.scheduleWithFixedDelay(this::sync, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    /** Restores once, then writes the catalog as the cache is now; a failure is logged once and tried again. */
    synchronized void sync() {
        ImageCatalog store = catalog.get();
        if (store == null) {
            return;
        }
        try {
            if (!restored) {
                cache.restore(store.entries());
                restored = true;
            }
            store.write(cache.catalog());
            if (lastProblem != null) {
                LOG.info("Image catalog written to the store again");
                lastProblem = null;
            }
        } catch (RuntimeException e) {
            if (!Objects.equals(e.getMessage(), lastProblem)) {
                LOG.warn("Keeping the image catalog in the store failed (tried again every second): {}",
                        e.getMessage());
                lastProblem = e.getMessage();
            }
        }
    }

    /** Stops the thread, letting a write under way end, and writes what changed since. */
    void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sync();
    }
}
