package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;

import org.junit.jupiter.api.Test;

class PortRangeTest {

    @Test
    void handsOutFreePortsOnceUntilReleased() throws IOException {
        try (ServerSocket busy = busyBelowEphemeralPorts()) {
            int b = busy.getLocalPort();
            int first = Math.max(1024, b - 2);
            PortRange range = new PortRange("127.0.0.1", first, first + 5);
            List<Integer> got = range.allocate(5);
            assertEquals(5, got.size());
            assertFalse(got.contains(b), "a port something else listens on is skipped");
            assertEquals(5, got.stream().distinct().count());
            assertThrows(IOException.class, () -> range.allocate(1), "full");
            range.release(got.get(2));
            assertEquals(List.of(got.get(2)), range.allocate(1));
            assertEquals(5, range.inUse());
        }
    }

    /**
     * A port bound below Linux's ephemeral range (32768 and up), among free neighbours: there the source port of
     * some other connection on this shared machine cannot take a neighbour the test expects to be free.
     */
    private static ServerSocket busyBelowEphemeralPorts() throws IOException {
        java.util.Random random = new java.util.Random();
        for (int tries = 0; tries < 200; tries++) {
            int port = 24_000 + random.nextInt(8_000);
            boolean neighboursFree = true;
            for (int p = port - 2; p <= port + 3 && neighboursFree; p++) {
                try (ServerSocket probe = new ServerSocket()) {
                    probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
                } catch (IOException e) {
                    neighboursFree = false;
                }
            }
            if (neighboursFree) {
                ServerSocket busy = new ServerSocket();
                busy.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                return busy;
            }
        }
        throw new IOException("no free ports found in 24000-31999");
    }

    @Test
    void allOrNone() throws IOException {
        PortRange range = new PortRange("127.0.0.1", 29100, 29102);
        assertThrows(IOException.class, () -> range.allocate(4));
        assertEquals(0, range.inUse());
        range.reserve(29101);
        range.reserve(9999);
        assertEquals(1, range.inUse());
        assertTrue(range.allocate(2).stream().noneMatch(p -> p == 29101));
    }

    @Test
    void refusesBadRanges() {
        assertThrows(IllegalArgumentException.class, () -> new PortRange("127.0.0.1", 80, 90));
        assertThrows(IllegalArgumentException.class, () -> new PortRange("127.0.0.1", 5000, 4000));
        assertThrows(IllegalArgumentException.class, () -> new PortRange("localhost", 5000, 6000));
    }
}
