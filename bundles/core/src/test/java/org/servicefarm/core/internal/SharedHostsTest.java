package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.store.HostDrains;
import org.servicefarm.api.store.HostRegistrations;

/**
 * Hosts added through the API on one appliance are added on the others sharing the store, and removed with them; drains
 * are kept in the store, outlive a restart and are followed likewise. The store's registrations and drains stand in
 * for the other appliance here (their JDBC form is tested in bundles/store-jdbc).
 */
class SharedHostsTest {

    private Farm farm = new Farm(Map.of());
    private final Registrations store = new Registrations();
    private final Drains drains = new Drains();

    @AfterEach
    void stop() {
        farm.close();
    }

    /** The farm-wide registrations as a shared store keeps them. */
    private static final class Registrations implements HostRegistrations {
        final Map<String, HostRecord> hosts = new ConcurrentSkipListMap<>();

        @Override
        public List<HostRecord> hosts() {
            return List.copyOf(hosts.values());
        }

        @Override
        public void put(HostRecord host) {
            hosts.put(host.name(), host);
        }

        @Override
        public void remove(String name) {
            hosts.remove(name);
        }
    }

    /** The farm-wide drains as a store keeps them; its writes fail while {@code failing}. */
    private static final class Drains implements HostDrains {
        final Map<String, Drain> kept = new ConcurrentSkipListMap<>();
        volatile boolean failing;

        @Override
        public List<Drain> drains() {
            return List.copyOf(kept.values());
        }

        @Override
        public void drain(String host, boolean drained) {
            if (failing) {
                throw new IllegalStateException("cannot drain host " + host + " farm-wide: the database is down");
            }
            if (drained) {
                kept.putIfAbsent(host, new Drain(host, Instant.now(), "this"));
            } else {
                kept.remove(host);
            }
        }

        /** A drain another appliance made. */
        void elsewhere(String host) {
            kept.put(host, new Drain(host, Instant.now(), "other"));
        }
    }

    private static HostRecord host(String name) {
        return new HostRecord(name, "fake", "fake:///" + name, new Capacity(4, 4096, 4), 0.2, "standard", Map.of());
    }

    private boolean here(String name) {
        return farm.hosts.statuses().stream().anyMatch(s -> s.name().equals(name));
    }

    @Test
    void aHostAddedOrRemovedHereIsRegisteredOrUnregisteredFarmWide() {
        farm.manager.sharedHosts.registrations = store;
        farm.manager.registerHost(host("delta"));
        assertTrue(store.hosts.containsKey("delta"));
        farm.manager.unregisterHost("delta");
        assertFalse(store.hosts.containsKey("delta"));
    }

    @Test
    void hostsAddedAndRemovedElsewhereAreFollowedHere() {
        SharedHosts shared = farm.manager.sharedHosts;
        shared.registrations = store;
        store.put(host("epsilon"));
        shared.follow();
        assertTrue(here("epsilon"), "added here too");
        assertEquals("api", farm.configurations.saved.get("org.servicefarm.host~epsilon").get("origin"));
        shared.follow();
        assertEquals(1, farm.configurations.writes.get(), "followed once");
        store.remove("epsilon");
        shared.follow();
        Farm.await("epsilon removed here too", () -> !here("epsilon"));
        assertTrue(farm.configurations.saved.keySet().stream().noneMatch(pid -> pid.endsWith("epsilon")));
    }

    @Test
    void aHostAddedBeforeTheStoreKnewItIsPublishedNotRemoved() {
        farm.manager.registerHost(host("zeta")); // no shared store yet
        SharedHosts shared = farm.manager.sharedHosts;
        shared.registrations = store;
        shared.follow();
        assertTrue(here("zeta"));
        assertEquals(host("zeta"), store.hosts.get("zeta"));
    }

    @Test
    void theHostsOfThisAppliancesOwnFilesAreNotShared() {
        SharedHosts shared = farm.manager.sharedHosts;
        shared.registrations = store;
        shared.follow();
        assertTrue(store.hosts.isEmpty(), "the fixture's hosts come from files: " + store.hosts.keySet());
        assertTrue(farm.hosts.statuses().size() >= 3);
    }

    private boolean drained(String name) {
        return farm.host(name).orElseThrow().drained();
    }

    @Test
    void aDrainIsKeptInTheStoreAndOutlivesARestartWhicheverHostItIs() {
        farm.manager.sharedHosts.drains = drains;
        farm.manager.registerHost(host("delta"));
        farm.manager.drain("large", true); // a host of the appliance's files
        farm.manager.drain("delta", true); // one added through the API
        assertEquals(java.util.Set.of("large", "delta"), drains.kept.keySet());
        assertEquals("this", drains.kept.get("large").appliance());
        drains.elsewhere("late"); // a host not configured yet when the core starts again

        farm.close();
        farm = new Farm(Map.of()); // the core again, on the same store
        SharedHosts shared = farm.manager.sharedHosts;
        shared.drains = drains;
        shared.activate();
        try {
            assertTrue(drained("large"), "read back at activation");
            assertFalse(drained("small"));
            farm.addHost("late", 2, 0.1, "standard");
            Farm.await("host late configured", () -> farm.host("late").isPresent());
            assertTrue(drained("late"), "drained from the moment its configuration is read");
            farm.manager.drain("large", false);
            assertEquals(java.util.Set.of("delta", "late"), drains.kept.keySet());
        } finally {
            shared.deactivate();
        }
    }

    @Test
    void aDrainByAnotherApplianceIsFollowedAndItsVmsMoveAwayAsAfterOneHere() {
        farm.lifecycle(Map.of()); // it sweeps only when asked: its interval is a day
        SharedHosts shared = farm.manager.sharedHosts;
        shared.drains = drains;
        VmRecord vm = farm.table.vm(assertInstanceOf(org.servicefarm.api.Outcome.Granted.class,
                farm.manager.request(org.servicefarm.api.ServiceRequest.of("wiki")
                        .withDeadline(java.time.Duration.ofSeconds(60)))).vmId()).orElseThrow();
        String host = vm.hostId();
        drains.elsewhere(host);
        shared.followDrains();
        assertTrue(drained(host));
        Farm.await("the VM moved off " + host + " by the sweep the follow asked for", () -> farm.table.occupying()
                .stream().noneMatch(v -> v.hostId().equals(host)));
        assertNotEquals(host, farm.table.vm(vm.id()).orElseThrow().hostId());

        drains.kept.remove(host); // undrained elsewhere
        shared.followDrains();
        assertFalse(drained(host));
    }

    @Test
    void aDrainTheStoreCannotKeepIsRefusedAndChangesNothing() {
        farm.manager.sharedHosts.drains = drains;
        farm.manager.drain("small", true);
        drains.failing = true;
        assertThrows(IllegalStateException.class, () -> farm.manager.drain("large", true));
        assertFalse(drained("large"));
        assertThrows(IllegalStateException.class, () -> farm.manager.drain("small", false));
        assertTrue(drained("small"), "an undrain the store did not keep leaves the host drained");
        drains.failing = false;
        assertThrows(NotFoundException.class, () -> farm.manager.drain("nowhere", true));
        assertEquals(java.util.Set.of("small"), drains.kept.keySet(), "an unknown host is not written");
    }

    @Test
    void aDrainMadeBeforeTheStoreKeptDrainsIsPublishedNotUndone() {
        farm.manager.drain("vault", true); // no store keeps drains yet: memory alone
        SharedHosts shared = farm.manager.sharedHosts;
        shared.drains = drains;
        shared.followDrains();
        assertTrue(drained("vault"));
        assertTrue(drains.kept.containsKey("vault"));
        drains.kept.remove("vault"); // now seen in the store: its removal is an undrain elsewhere
        shared.followDrains();
        assertFalse(drained("vault"));
    }
}
