package org.servicefarm.driver.libvirt.internal;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;

import org.servicefarm.api.driver.HypervisorException;

/**
 * The host ports of one host that endpoints are forwarded from. A port is handed out at most once
 * until it is released; ports found in the metadata of existing domains are reserved on connect.
 */
final class PortAllocator {

    private final int first;
    private final int last;
    /** Bit i set = port first+i is taken. */
    private final BitSet taken = new BitSet();

    PortAllocator(int first, int last) {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException("port range " + first + "-" + last + " is not within 1-65535");
        }
        this.first = first;
        this.last = last;
    }

    /**
     * Parses {@code FIRST-LAST}, e.g. {@code 20000-20999}.
     *
     * @throws HypervisorException naming {@code source} when the text is not such a range
     */
    static PortAllocator parse(String range, String source) throws HypervisorException {
        String text = range == null ? "" : range.trim();
        int dash = text.indexOf('-');
        try {
            if (dash <= 0 || dash == text.length() - 1) {
                throw new IllegalArgumentException("expected FIRST-LAST");
            }
            int from = Integer.parseInt(text.substring(0, dash).trim());
            int to = Integer.parseInt(text.substring(dash + 1).trim());
            return new PortAllocator(from, to);
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(source + ": portRange '" + range
                    + "' must be FIRST-LAST with 1 <= FIRST <= LAST <= 65535, e.g. 20000-20999", e);
        }
    }

    int first() {
        return first;
    }

    int last() {
        return last;
    }

    /** Takes the {@code count} lowest free ports, all or none. */
    synchronized List<Integer> allocate(int count, String hostName) throws HypervisorException {
        List<Integer> ports = new ArrayList<>(count);
        int index = 0;
        while (ports.size() < count) {
            index = taken.nextClearBit(index);
            if (first + index > last) {
                throw new HypervisorException("host " + hostName + " has no free port left in " + first + "-" + last
                        + " (" + count + " needed, " + (size() - taken.cardinality()) + " free)");
            }
            ports.add(first + index);
            index++;
        }
        for (int port : ports) {
            taken.set(port - first);
        }
        return ports;
    }

    /** Marks ports as taken (recovered from existing domains); ports outside the range are ignored. */
    synchronized void reserve(Collection<Integer> ports) {
        for (int port : ports) {
            if (port >= first && port <= last) {
                taken.set(port - first);
            }
        }
    }

    synchronized void release(Collection<Integer> ports) {
        for (int port : ports) {
            if (port >= first && port <= last) {
                taken.clear(port - first);
            }
        }
    }

    synchronized boolean isTaken(int port) {
        return port >= first && port <= last && taken.get(port - first);
    }

    synchronized int takenCount() {
        return taken.cardinality();
    }

    private int size() {
        return last - first + 1;
    }
}
