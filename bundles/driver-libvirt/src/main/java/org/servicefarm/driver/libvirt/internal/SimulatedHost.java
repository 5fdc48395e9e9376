package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.libvirt.event.DomainEventType;
import org.libvirt.event.StartedDetail;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.servicefarm.driver.libvirt.internal.SimulatedGuests.Listener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated guests of one test-driver host ({@link SimulatedGuests}): a guest listens on its ports from define
 * to undefine, and answers as libvirt's lifecycle events say it runs: {@link HostSettings#bootTimeMs()} after it
 * started, {@link HostSettings#restoreTimeMs()} after it was restored, at once after a resume; not while suspended,
 * saved or stopped.
 */
final class SimulatedHost implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedHost.class);

    /** One guest's listeners, and when its boot or restore is over. */
    private static final class Guest {
        final List<Listener> listeners;
        volatile long readyAt = System.nanoTime();

        Guest(List<Listener> listeners) {
            this.listeners = listeners;
        }

        void answerFrom(long nanoTime) {
            listeners.forEach(listener -> listener.answerFrom(nanoTime));
        }

        void silence() {
            listeners.forEach(Listener::silence);
        }
    }

    private final String hostName;
    private final InetAddress address;
    private final HostSettings settings;
    private final SimulatedGuests engine;
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();

    SimulatedHost(HostSettings settings, SimulatedGuests engine) {
        this.hostName = settings.hostName();
        this.address = settings.forwardInetAddress();
        this.settings = settings;
        this.engine = engine;
    }

    /**
     * Opens a guest's listeners, silent. A port something on this machine took meanwhile is logged and left
     * unserved: the core's probe then fails that guest, as it would a real one.
     */
    synchronized void listen(FarmMetadata metadata) {
        String page = "vm " + shown(metadata.vmId()) + "\noffering " + shown(metadata.offeringKey())
                + "\nsimulated guest on libvirt test host " + hostName + "\n";
        List<Listener> listeners = new ArrayList<>();
        for (PortBinding port : metadata.ports()) {
            try {
                listeners.add(engine.listen(new InetSocketAddress(address, port.hostPort()), page));
            } catch (IOException e) {
                LOG.warn("host {}: VM {}'s service {} cannot listen on port {}: {}", hostName, shown(metadata.vmId()),
                        port.service(), port.hostPort(), LibvirtErrors.shown(e.toString()));
            }
        }
        Guest replaced = guests.put(metadata.vmId(), new Guest(listeners));
        if (replaced != null) {
            replaced.listeners.forEach(Listener::close);
        }
    }

    /** A guest found running when the host connected: it booted long ago. */
    void running(String vmId) {
        Guest guest = guests.get(vmId);
        if (guest != null) {
            guest.answerFrom(System.nanoTime());
        }
    }

    /** Follows a lifecycle event of one of the host's farm domains. */
    void observed(String vmId, DomainEventType type, Object detail) {
        if (type == DomainEventType.UNDEFINED) {
            close(vmId);
            return;
        }
        Guest guest = guests.get(vmId);
        if (guest == null) {
            return;
        }
        long now = System.nanoTime();
        switch (type) {
            case STARTED -> {
                long wait = detail == StartedDetail.RESTORED ? settings.restoreTimeMs()
                        : detail == StartedDetail.WAKEUP ? 0 : settings.bootTimeMs();
                guest.readyAt = now + TimeUnit.MILLISECONDS.toNanos(wait);
                guest.answerFrom(guest.readyAt);
            }
            // a guest resumed during its boot (restored paused, then resumed) still finishes it first
            case RESUMED -> guest.answerFrom(Math.max(now, guest.readyAt));
            case SUSPENDED, PMSUSPENDED, STOPPED, SHUTDOWN, CRASHED -> guest.silence();
            default -> { }
        }
    }

    /**
     * Stops a guest's listeners: its ports are free when this returns, also when another thread is closing them (a
     * destroy and libvirt's UNDEFINED event both close the guest; whichever comes second waits for the first).
     */
    synchronized void close(String vmId) {
        Guest guest = guests.remove(vmId);
        if (guest != null) {
            guest.listeners.forEach(Listener::close);
        }
    }

    /** Stops every guest's listeners (the connection closes; the guests stay defined in libvirt). */
    @Override
    public void close() {
        List.copyOf(guests.keySet()).forEach(this::close);
    }

    private static String shown(String value) {
        return LibvirtErrors.shown(value);
    }
}
