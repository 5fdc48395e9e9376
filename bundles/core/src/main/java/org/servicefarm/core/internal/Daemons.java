package org.servicefarm.core.internal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The core's background threads: daemons, named for a thread dump, so that none keeps a stopping JVM alive. */
final class Daemons {

    private Daemons() {
    }

    /** A scheduler running its tasks one at a time on a daemon thread named {@code name}. */
    static ScheduledExecutorService scheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, name);
            thread.setDaemon(true);
            return thread;
        });
    }
}
