package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.driver.HypervisorException;

/**
 * The host ports of one host that endpoints are forwarded from. A port is handed out at most once
 * until it is released; ports found in the metadata of existing domains are reserved on connect.
 */
final class PortAllocator {

    /** The lowest port a host's range may start at: ports below are privileged and the appliance's own. */
    static final int LOWEST_PORT = 1024;
    private static final Pattern RANGE = Pattern.compile("([0-9]{1,5})-([0-9]{1,5})");

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
     * Parses {@code FIRST-LAST}, e.g. {@code 20000-20999}, within {@value #LOWEST_PORT}-65535.
     *
     * @throws InvalidRequestException naming {@code field} when the text is not such a range
     */
    static PortAllocator parse(String range, String field) {
        Matcher matcher = RANGE.matcher(range == null ? "" : range.trim());
        if (matcher.matches()) {
            int from = Integer.parseInt(matcher.group(1));
            int to = Integer.parseInt(matcher.group(2));
            if (from >= LOWEST_PORT && from <= to && to <= 65535) {
                return new PortAllocator(from, to);
            }
        }
        throw new InvalidRequestException(field, field + " must be FIRST-LAST with " + LOWEST_PORT
                + " <= FIRST <= LAST <= 65535, e.g. 20000-20999, not '" + Names.excerpt(range) + "'");
    }

    int first() {
        return first;
    }

    int last() {
        return last;
    }

    /** Takes the {@code count} lowest free ports, all or none. */
    synchronized List<Integer> allocate(int count, String hostName) throws HypervisorException {
        return allocate(count, hostName, port -> true);
    }

    /**
     * Takes the {@code count} lowest free ports that are also {@code usable} (e.g. not held by anything else on the
     * machine), all or none. Unusable ports are skipped, not taken: they may be usable next time.
     */
    synchronized List<Integer> allocate(int count, String hostName, IntPredicate usable) throws HypervisorException {
        return allocateFrom(0, count, hostName, usable);
    }

    /**
     * As {@link #allocate(int, String, IntPredicate)}, scanning from a random port of the range (and around): for a
     * second try after ports taken first were found held by another appliance sharing the host, which hands out
     * ports lowest first too.
     */
    synchronized List<Integer> allocateScattered(int count, String hostName, IntPredicate usable,
                                                 java.util.random.RandomGenerator random) throws HypervisorException {
        return allocateFrom(random.nextInt(size()), count, hostName, usable);
    }

    private List<Integer> allocateFrom(int start, int count, String hostName, IntPredicate usable)
            throws HypervisorException {
        List<Integer> ports = new ArrayList<>(count);
        int skipped = 0;
        for (int i = 0; i < size() && ports.size() < count; i++) {
            int index = (start + i) % size();
            if (taken.get(index)) {
                continue;
            }
            if (usable.test(first + index)) {
                ports.add(first + index);
            } else {
                skipped++;
            }
        }
        if (ports.size() < count) {
            throw new HypervisorException("host " + hostName + " has no free port left in " + first + "-" + last
                    + " (" + count + " needed, " + (size() - taken.cardinality()) + " free"
                    + (skipped > 0 ? ", of which " + skipped + " held by something else on this machine" : "") + ")");
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

    /** True when a listener could bind {@code address} now (as the guest's forward will). */
    static boolean bindable(InetSocketAddress address) {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(address);
            return true;
        } catch (IOException e) {
            return false;
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
