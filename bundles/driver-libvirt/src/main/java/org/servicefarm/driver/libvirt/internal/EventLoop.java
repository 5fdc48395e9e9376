package org.servicefarm.driver.libvirt.internal;

import java.util.concurrent.TimeUnit;

import org.libvirt.Connect;
import org.libvirt.ErrorCallback;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's default event loop, run by one daemon thread. libvirt dispatches domain events (and, for
 * remote connections, keep-alives) only while some thread runs the loop, and the loop must be
 * registered before the first connection is opened. The loop and the error callback are process-wide
 * in libvirt, so this class keeps one of each per class loader, counted by its users.
 */
final class EventLoop {

    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);
    /** Held here so the native side never calls a collected callback. Does nothing: errors reach us as exceptions. */
    private static final ErrorCallback SILENT_ERRORS = new ErrorCallback();

    private static int users;
    private static Thread thread;

    private EventLoop() {
    }

    /**
     * Starts the loop if it does not run yet.
     *
     * @throws UnsatisfiedLinkError when the native libvirt library ({@code libvirt0}) is not installed
     */
    static synchronized void acquire() throws LibvirtException {
        users++;
        if (thread != null) {
            return;
        }
        try {
            Library.initEventLoop();
            // libvirt prints every error to stderr unless a callback takes them; ours come back as exceptions.
            Connect.setErrorCallback(SILENT_ERRORS);
        } catch (LibvirtException | RuntimeException | Error e) {
            users--;
            throw e;
        }
        Thread loop = new Thread(EventLoop::run, "servicefarm-libvirt-event-loop");
        loop.setDaemon(true);
        loop.start();
        thread = loop;
    }

    /** Stops the loop once its last user is gone, and waits for the thread to end. */
    static synchronized void release() {
        if (users == 0) {
            return;
        }
        users--;
        if (users > 0 || thread == null) {
            return;
        }
        Thread loop = thread;
        thread = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        try {
            // stopEventLoop only takes effect once runEventLoop has begun; repeat until the thread has ended.
            while (loop.isAlive() && System.nanoTime() < deadline) {
                Library.stopEventLoop();
                loop.join(50);
            }
            Connect.setErrorCallback(null);
        } catch (LibvirtException e) {
            LOG.warn("stopping the libvirt event loop failed: {}", LibvirtErrors.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) {
            LOG.warn("the libvirt event loop thread did not end within 5 s");
        }
    }

    static synchronized boolean running() {
        return thread != null && thread.isAlive();
    }

    private static void run() {
        try {
            Library.runEventLoop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (LibvirtException e) {
            LOG.error("the libvirt event loop failed; no more hypervisor events will arrive: {}",
                    LibvirtErrors.describe(e));
        }
    }
}
