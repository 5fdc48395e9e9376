package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.driver.HypervisorException;

class PortAllocatorTest {

    @Test
    void handsOutTheLowestFreePortsNeverTwice() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20004);
        assertEquals(List.of(20000, 20001), ports.allocate(2, "h"));
        assertEquals(List.of(20002), ports.allocate(1, "h"));
        ports.release(List.of(20000));
        assertEquals(List.of(20000, 20003), ports.allocate(2, "h"));
        assertTrue(ports.isTaken(20003));
        assertFalse(ports.isTaken(20004));
    }

    @Test
    void scatteredAllocationsStartAnywhereWrapAroundAndSkipTakenAndUnusablePorts() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20004);
        ports.reserve(List.of(20004));
        // from the range's fourth port: 20003 is taken first, 20004 is reserved, so it wraps, and 20000 is unusable
        java.util.Random fourth = new java.util.Random() {
            @Override
            public int nextInt(int bound) {
                return 3;
            }
        };
        assertEquals(List.of(20003, 20001), ports.allocateScattered(2, "h", p -> p != 20000, fourth));
        assertEquals(List.of(20002), ports.allocate(1, "h", p -> p != 20000));
        assertThrows(HypervisorException.class, () -> ports.allocateScattered(1, "h", p -> p != 20000,
                new java.util.Random(7)), "only 20000 is free, and it is held by something else");
        assertEquals(List.of(20000), ports.allocateScattered(1, "h", p -> true, new java.util.Random(7)));
    }

    @Test
    void exhaustionTakesNothing() throws Exception {
        PortAllocator ports = new PortAllocator(100, 102);
        ports.allocate(2, "h");
        HypervisorException e = assertThrows(HypervisorException.class, () -> ports.allocate(2, "h"));
        assertTrue(e.getMessage().contains("no free port"), e.getMessage());
        assertEquals(2, ports.takenCount(), "a failed allocation takes no port");
        assertEquals(List.of(102), ports.allocate(1, "h"));
    }

    @Test
    void reservedPortsAreSkippedAndOutsidersIgnored() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20003);
        ports.reserve(List.of(20000, 20002, 30000));
        assertEquals(List.of(20001, 20003), ports.allocate(2, "h"));
    }

    @Test
    void concurrentAllocationsNeverOverlap() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20999);
        Set<Integer> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger duplicates = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    try {
                        for (int port : ports.allocate(2, "h")) {
                            if (!seen.add(port)) {
                                duplicates.incrementAndGet();
                            }
                        }
                    } catch (HypervisorException e) {
                        throw new AssertionError(e);
                    }
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(0, duplicates.get());
        assertEquals(800, new HashSet<>(seen).size());
    }

    @Test
    void badRangesAreRefusedNamingTheField() {
        for (String bad : List.of("", "20000", "20000-", "-5", "a-b", "30000-20000", "0-10", "65000-70000", "80-90",
                "1023-2000", " 2000 - 3000 ", "+2000-3000", "99999999999-3")) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> PortAllocator.parse(bad, "properties.portRange"));
            assertEquals("properties.portRange", e.field());
            assertTrue(e.getMessage().contains("1024 <= FIRST <= LAST <= 65535"), e.getMessage());
        }
        assertEquals(1024, PortAllocator.parse("1024-65535", "properties.portRange").first());
    }
}
