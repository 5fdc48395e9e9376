package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Host ports for port forwards. A port is handed out at most once until released, and only when
 * nothing else on the host listens on it (a bind is tried): libvirt guests and other programs take
 * ports from the same space. Keep the range below the kernel's ephemeral ports
 * ({@code net.ipv4.ip_local_port_range}, 32768-60999 by default), where outgoing connections take theirs.
 */
public final class PortRange {

    private final String bindAddress;
    private final int first;
    private final int last;
    private final BitSet taken = new BitSet();
    private int next;

    public PortRange(String bindAddress, int first, int last) {
        this.bindAddress = Checks.ipv4("bindAddress", bindAddress);
        Checks.hostPort("first port", first);
        Checks.hostPort("last port", last);
        if (first > last) {
            throw new IllegalArgumentException("port range " + first + "-" + last + " is empty");
        }
        this.first = first;
        this.last = last;
    }

    /** Takes {@code count} free ports, all or none; the search goes round the range. */
    public synchronized List<Integer> allocate(int count) throws IOException {
        List<Integer> ports = new ArrayList<>(count);
        int size = last - first + 1;
        for (int tried = 0; tried < size && ports.size() < count; tried++) {
            int index = (next + tried) % size;
            if (!taken.get(index) && bindable(first + index)) {
                ports.add(first + index);
                taken.set(index);
            }
        }
        if (ports.size() < count) {
            ports.forEach(p -> taken.clear(p - first));
            throw new IOException("no " + count + " free ports left in " + first + "-" + last);
        }
        next = (ports.get(ports.size() - 1) - first + 1) % size;
        return ports;
    }

    /** Marks {@code port} taken (a guest found again after a restart holds it); ports outside the range are ignored. */
    public synchronized void reserve(int port) {
        if (port >= first && port <= last) {
            taken.set(port - first);
        }
    }

    public synchronized void release(int port) {
        if (port >= first && port <= last) {
            taken.clear(port - first);
        }
    }

    public synchronized int inUse() {
        return taken.cardinality();
    }

    private boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            // As QEMU's user-mode network binds its forwards: a port whose last connection lingers in
            // TIME_WAIT is free.
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(bindAddress), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
