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
        try (ServerSocket busy = new ServerSocket()) {
            busy.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
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
