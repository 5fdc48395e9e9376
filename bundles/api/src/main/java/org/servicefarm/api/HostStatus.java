package org.servicefarm.api;

import java.util.HashMap;
import java.util.Map;

import org.servicefarm.api.driver.StagingSpace;

/**
 * A host as the manager sees it now: one immutable snapshot, replaced as a whole whenever anything of it changes
 * (so a placement that checked a snapshot and swaps in the next one never acts on a mix of two).
 *
 * @param host           its configuration
 * @param used           resources taken by the VMs placed on it (every VM that occupies the host, and VMs placement
 *                       has reserved room for but the state table does not hold yet)
 * @param connected      true while its driver is present and connected
 * @param detail         why it is not connected, or {@code null}
 * @param drained        true when an operator drained it: no new VM is placed there; its VMs stay
 * @param health         how its driver has been answering
 * @param securityLevels how many of its VMs run at each security level (levels with none are left out)
 * @param guests         the kind of guests its driver runs, as its connection said; {@code null} before it first
 *                       connected
 * @param staging        how full the place it stages images in was when last read (every sweep of staged content),
 *                       or {@code null} while not read, or when its driver does not say (since 1.13)
 */
public record HostStatus(HostRecord host, Capacity used, boolean connected, String detail, boolean drained,
                         HostHealth health, Map<String, Integer> securityLevels, GuestKind guests,
                         StagingSpace staging) {

    public HostStatus {
        used = used == null ? Capacity.ZERO : used;
        health = health == null ? HostHealth.HEALTHY : health;
        securityLevels = securityLevels == null ? Map.of() : Map.copyOf(securityLevels);
    }

    /** A host whose staging space has not been read. */
    public HostStatus(HostRecord host, Capacity used, boolean connected, String detail, boolean drained,
                      HostHealth health, Map<String, Integer> securityLevels, GuestKind guests) {
        this(host, used, connected, detail, drained, health, securityLevels, guests, null);
    }

    /** A host whose kind of guests is not known yet. */
    public HostStatus(HostRecord host, Capacity used, boolean connected, String detail, boolean drained,
                      HostHealth health, Map<String, Integer> securityLevels) {
        this(host, used, connected, detail, drained, health, securityLevels, null, null);
    }

    /** A host that is not drained, healthy, and whose VMs' security levels are not known. */
    public HostStatus(HostRecord host, Capacity used, boolean connected, String detail) {
        this(host, used, connected, detail, false, HostHealth.HEALTHY, Map.of());
    }

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

    /** This status with one more VM of {@code securityLevel} taking {@code resources}. */
    public HostStatus plus(Capacity resources, String securityLevel) {
        return new HostStatus(host, used.plus(resources), connected, detail, drained, health,
                count(securityLevels, securityLevel, 1), guests, staging);
    }

    /** This status with one VM of {@code securityLevel} taking {@code resources} gone. */
    public HostStatus minus(Capacity resources, String securityLevel) {
        return new HostStatus(host, used.minus(resources), connected, detail, drained, health,
                count(securityLevels, securityLevel, -1), guests, staging);
    }

    public HostStatus withHost(HostRecord newHost) {
        return new HostStatus(newHost, used, connected, detail, drained, health, securityLevels, guests, staging);
    }

    public HostStatus withConnection(boolean nowConnected, String newDetail) {
        return new HostStatus(host, used, nowConnected, newDetail, drained, health, securityLevels, guests, staging);
    }

    public HostStatus withGuests(GuestKind kind) {
        return new HostStatus(host, used, connected, detail, drained, health, securityLevels, kind, staging);
    }

    public HostStatus withDrained(boolean nowDrained) {
        return new HostStatus(host, used, connected, detail, nowDrained, health, securityLevels, guests, staging);
    }

    public HostStatus withHealth(HostHealth newHealth) {
        return new HostStatus(host, used, connected, detail, drained, newHealth, securityLevels, guests, staging);
    }

    /** @since 1.13 */
    public HostStatus withStaging(StagingSpace read) {
        return new HostStatus(host, used, connected, detail, drained, health, securityLevels, guests, read);
    }

    private static Map<String, Integer> count(Map<String, Integer> levels, String level, int delta) {
        if (level == null) {
            return levels;
        }
        Map<String, Integer> counted = new HashMap<>(levels);
        int n = counted.getOrDefault(level, 0) + delta;
        if (n > 0) {
            counted.put(level, n);
        } else {
            counted.remove(level);
        }
        return counted;
    }
}
