package org.servicefarm.api.placement;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One reason to prefer a host, as a penalty from 0 (best) to 1 (worst). The core keeps an ordered index for each,
 * so a blend of them ({@link Weights}) is ranked without looking at every host.
 */
public enum Weigher {
    /** Prefers emptier hosts: the host's load now, its largest share of any resource in use. */
    LOAD,
    /** Prefers fuller hosts (bin-packing, so that others stay empty): one minus the load. */
    FILL,
    /**
     * Prefers hosts with more room left: one minus its free VM slots over the most free slots of any host in view
     * (so between two equally loaded hosts the bigger one wins).
     */
    ROOM,
    /** Prefers cheaper hosts: its cost per hour over the dearest host's in view. */
    COST,
    /** Prefers faster hosts: one minus its speed over the fastest host's in view. */
    SPEED,
    /** Prefers hosts running fewer VMs of any kind: its VMs over the most any host in view runs. */
    VMS,
    /** Prefers hosts holding fewer replicas of the same offering: its replicas over the most on any host. */
    REPLICAS;

    /** Its name in configuration and explanations, e.g. {@code load}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the weighers there are, if {@code key} is none of them */
    public static Weigher of(String key) {
        for (Weigher weigher : values()) {
            if (weigher.key().equals(key == null ? null : key.trim().toLowerCase(Locale.ROOT))) {
                return weigher;
            }
        }
        throw new IllegalArgumentException("unknown weigher '" + key + "'; weighers: "
                + Arrays.stream(values()).map(Weigher::key).collect(Collectors.joining(", ")));
    }
}
