package org.servicefarm.driver.libvirt.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The farm's domains on one host as its connection tracks them, by VM id, and the host ports they hold. The
 * libvirt UUID tells a tracked domain from an earlier or later one of the same name.
 */
final class FarmDomains {

    /** A farm domain as the connection tracks it. */
    static final class Tracked {
        final FarmMetadata metadata;
        final String uuid;
        /** STOPPED(DESTROYED) events of this connection's own destroys, withheld (see {@link LifecycleEvents}). */
        final AtomicInteger expectedDestroyStops = new AtomicInteger();
        private final AtomicBoolean portsReleased = new AtomicBoolean();
        private volatile boolean destroyed;

        Tracked(FarmMetadata metadata, String uuid) {
            this.metadata = metadata;
            this.uuid = uuid;
        }

        String vmId() {
            return metadata.vmId();
        }

        boolean destroyed() {
            return destroyed;
        }
    }

    private final ConcurrentMap<String, Tracked> byVmId = new ConcurrentHashMap<>();
    private final PortAllocator ports;

    FarmDomains(PortAllocator ports) {
        this.ports = ports;
    }

    /** The tracked domain of a VM, destroyed or not, or {@code null}. */
    Tracked get(String vmId) {
        return byVmId.get(vmId);
    }

    /** The tracked domain of a VM that has not been destroyed, or {@code null}. */
    Tracked live(String vmId) {
        Tracked tracked = byVmId.get(vmId);
        return tracked == null || tracked.destroyed() ? null : tracked;
    }

    /** Tracks a domain and holds its ports (ports it already holds stay held). */
    Tracked track(FarmMetadata metadata, String uuid) {
        Tracked tracked = new Tracked(metadata, uuid);
        ports.reserve(metadata.hostPorts());
        Tracked replaced = byVmId.put(metadata.vmId(), tracked);
        if (replaced != null && replaced != tracked && !replaced.uuid.equals(uuid)) {
            releasePorts(replaced); // its domain was replaced behind the farm's back
            ports.reserve(metadata.hostPorts());
        }
        return tracked;
    }

    /** Marks a domain destroyed: it holds no ports any more, and stays tracked until libvirt says it is gone. */
    void destroyed(Tracked tracked) {
        tracked.destroyed = true;
        releasePorts(tracked);
    }

    /** Stops tracking a domain libvirt no longer has, freeing its ports. */
    void forget(Tracked tracked) {
        byVmId.remove(tracked.vmId(), tracked);
        releasePorts(tracked);
    }

    int size() {
        return byVmId.size();
    }

    int portsTaken() {
        return ports.takenCount();
    }

    private void releasePorts(Tracked tracked) {
        if (tracked.portsReleased.compareAndSet(false, true)) {
            ports.release(tracked.metadata.hostPorts());
        }
    }
}
