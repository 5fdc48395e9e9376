package org.servicefarm.core.internal;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.servicefarm.api.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serial lanes over one pool of threads: the tasks of one lane run one at a time, in the order given; the lanes run
 * side by side, each on a pool thread only while it has tasks, at most {@code threads} at once (a farm of thousands
 * of hosts reconciled every minute must not start a thread per host; lanes beyond that wait their turn). The thread
 * carries the lane's name while it runs them, so a thread dump shows which lane a call that hangs holds up.
 */
final class Lanes {

    private static final Logger LOG = LoggerFactory.getLogger(Lanes.class);

    private final String threadPrefix;
    private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
    private final ExecutorService pool;

    Lanes(String threadPrefix, int threads) {
        this.threadPrefix = threadPrefix;
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, threadPrefix + "lane");
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true); // an idle farm holds no lane thread
        this.pool = executor;
    }

    /**
     * Runs {@code task} on the lane {@code key}, after the tasks given to it before.
     *
     * @param name the lane's name on its thread (a host name, already checked)
     * @throws RejectedExecutionException once {@link #shutdown} was called
     */
    void execute(String key, String name, Runnable task) {
        lanes.computeIfAbsent(key, k -> new Lane(name)).execute(task);
    }

    /** Runs no more tasks; those running are interrupted. */
    void shutdown() {
        pool.shutdownNow();
    }

    private final class Lane {
        private final String name;
        private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
        private boolean draining;

        Lane(String name) {
            this.name = name;
        }

        synchronized void execute(Runnable task) {
            if (!draining) {
                pool.execute(this::drain); // throws once stopped: the task is not queued
                draining = true;
            }
            queue.add(task);
        }

        private void drain() {
            Thread thread = Thread.currentThread();
            String before = thread.getName();
            thread.setName(threadPrefix + name);
            try {
                while (true) {
                    Runnable next;
                    synchronized (this) {
                        next = queue.poll();
                        if (next == null) {
                            draining = false;
                            return;
                        }
                    }
                    try {
                        next.run();
                    } catch (RuntimeException e) {
                        LOG.warn("A task of {} failed: {}", name, Names.excerpt(String.valueOf(e), 300), e);
                    }
                }
            } finally {
                thread.setName(before);
            }
        }
    }
}
