package org.servicefarm.api;

/** An amount of host resources: virtual CPUs, memory and a count of VMs. */
public record Capacity(int vcpus, long memoryMiB, int vms) {

    public static final Capacity ZERO = new Capacity(0, 0, 0);

    /** @throws InvalidRequestException naming the field ({@code capacity.vcpus}, ...) when an amount is negative */
    public Capacity {
        if (vcpus < 0) {
            throw new InvalidRequestException("capacity.vcpus", "capacity.vcpus must not be negative: " + vcpus);
        }
        if (memoryMiB < 0) {
            throw new InvalidRequestException("capacity.memoryMiB", "capacity.memoryMiB must not be negative: "
                    + memoryMiB);
        }
        if (vms < 0) {
            throw new InvalidRequestException("capacity.vms", "capacity.vms must not be negative: " + vms);
        }
    }

    public Capacity plus(Capacity other) {
        return new Capacity(vcpus + other.vcpus, memoryMiB + other.memoryMiB, vms + other.vms);
    }

    /** What is left of this capacity after {@code used}; never negative. */
    public Capacity minus(Capacity used) {
        return new Capacity(Math.max(0, vcpus - used.vcpus), Math.max(0, memoryMiB - used.memoryMiB),
                Math.max(0, vms - used.vms));
    }

    /** True when {@code demand} fits in this capacity. */
    public boolean fits(Capacity demand) {
        return demand.vcpus <= vcpus && demand.memoryMiB <= memoryMiB && demand.vms <= vms;
    }

    /** The largest share of this capacity that {@code used} takes, 0.0 to 1.0 (or more if over). */
    public double loadOf(Capacity used) {
        double load = 0;
        if (vcpus > 0) load = Math.max(load, (double) used.vcpus / vcpus);
        if (memoryMiB > 0) load = Math.max(load, (double) used.memoryMiB / memoryMiB);
        if (vms > 0) load = Math.max(load, (double) used.vms / vms);
        return load;
    }
}
