package org.servicefarm.api.driver;

/**
 * How full the place is where a host keeps what it stages ({@link HostConnection#stagingSpace}): a libvirt storage
 * pool, a directory's file system, a XAPI storage repository. Content staged there competes with whatever else that
 * place holds, so what counts is what is still available, not what the farm put there.
 *
 * @param capacityBytes  its size
 * @param availableBytes what can still be written there (for a file system, what an unprivileged writer can)
 * @since 3.6
 */
public record StagingSpace(long capacityBytes, long availableBytes) {

    public StagingSpace {
        if (capacityBytes <= 0) {
            throw new IllegalArgumentException("a staging space's capacity is positive: " + capacityBytes);
        }
        if (availableBytes < 0 || availableBytes > capacityBytes) {
            throw new IllegalArgumentException("a staging space's available bytes are 0 to its capacity ("
                    + capacityBytes + "): " + availableBytes);
        }
    }

    /** The bytes not available, whoever took them: what makes the space run out. */
    public long usedBytes() {
        return capacityBytes - availableBytes;
    }

    /** {@link #usedBytes} as a percentage of the capacity, from 0 to 100. */
    public double usedPercent() {
        return 100.0 * usedBytes() / capacityBytes;
    }
}
