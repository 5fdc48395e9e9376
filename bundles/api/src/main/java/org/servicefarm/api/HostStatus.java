package org.servicefarm.api;

/**
 * A host as the manager sees it now.
 *
 * @param host      its configuration
 * @param used      resources taken by the VMs placed on it (every VM that occupies the host)
 * @param connected true while its driver is present and connected
 * @param detail    why it is not connected, or {@code null}
 */
public record HostStatus(HostRecord host, Capacity used, boolean connected, String detail) {

    public String name() {
        return host.name();
    }

    public Capacity free() {
        return host.capacity().minus(used);
    }

    /** The largest share of any resource in use, 0.0 (idle) to 1.0 (full). */
    public double load() {
        return host.capacity().loadOf(used);
    }
}
