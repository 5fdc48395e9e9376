package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.store.HostRegistrations;

/**
 * Hosts added through the API on one appliance are added on the others sharing the store, and removed with them; the
 * store's registrations stand in for the other appliance here (their JDBC form is tested in bundles/store-jdbc).
 */
class SharedHostsTest {

    private final Farm farm = new Farm(Map.of());
    private final Registrations store = new Registrations();

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
}
