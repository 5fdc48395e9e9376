package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestMetadata;

/**
 * An appliance restarting on a store whose rows a crash left half-way through their moves: the first reconcile of
 * each host ends every such move from what the host reports, and the farm serves on from a table that matches its
 * hosts, with every host's use counted once.
 */
class CrashRecoveryTest {
    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");
    private Farm farm;

    @AfterEach
    void stop() {
        if (farm != null) {
            farm.close();
        }
    }

    @Test
    void movesCutShortAreFinishedOrRolledBackFromWhatTheHostsReport() {
        FakeHypervisor hypervisor = new FakeHypervisor();
        Instant before = Instant.parse("2020-01-01T00:00:00Z"); // long before the restart
        List<VmRecord> rows = new ArrayList<>();
        Map<String, VmState> guests = new ConcurrentHashMap<>();
        // state in the store -> what the host has
        row(rows, guests, "sf-creating-none", VmState.CREATING, null, before);
        row(rows, guests, "sf-creating-defined", VmState.CREATING, VmState.SLEEPING, before);
        row(rows, guests, "sf-starting-running", VmState.STARTING, VmState.ACTIVE, before);
        row(rows, guests, "sf-suspending-done", VmState.SUSPENDING, VmState.SLEEPING, before);
        row(rows, guests, "sf-resuming-done", VmState.RESUMING, VmState.ACTIVE, before);
        row(rows, guests, "sf-restoring-not-yet", VmState.RESTORING, null, before);
        row(rows, guests, "sf-destroying-left", VmState.DESTROYING, VmState.ACTIVE, before);
        row(rows, guests, "sf-active", VmState.ACTIVE, VmState.ACTIVE, before);
        hypervisor.guestsByHost.put("large", guests);
        for (VmRecord vm : rows) {
            if (guests.containsKey(vm.id())) {
                hypervisor.recorded.put(vm.id(), new GuestMetadata(vm.id(), vm.offering(), vm.imageId(),
                        vm.resources(), vm.endpoints(), vm.createdAt()));
            }
        }

        farm = new Farm(Map.of(), hypervisor, Map.of(), rows);

        Farm.await("every cut-short move to be ended", () -> farm.table.vms().stream()
                .noneMatch(vm -> vm.state().transitional()), () -> farm.table.vms().toString());
        assertEquals(VmState.DESTROYED, state("sf-creating-none"));
        assertEquals(VmState.DESTROYED, state("sf-creating-defined"), "a creation is rolled back");
        assertEquals(VmState.DESTROYED, state("sf-starting-running"), "never granted: rolled back too");
        assertEquals(VmState.SLEEPING, state("sf-suspending-done"));
        assertEquals(VmState.ACTIVE, state("sf-resuming-done"));
        assertEquals(VmState.ARCHIVED, state("sf-restoring-not-yet"), "its archive is still there");
        assertEquals(VmState.DESTROYED, state("sf-destroying-left"));
        assertEquals(VmState.ACTIVE, state("sf-active"));
        Farm.await("the rolled-back guests to be removed", () -> !guests.containsKey("sf-creating-defined")
                && !guests.containsKey("sf-starting-running") && !guests.containsKey("sf-destroying-left"));
        assertTrue(farm.table.vm("sf-creating-none").orElseThrow().detail().contains("rolled back"));

        // the table matches the host: every guest left has a row that holds it, and the host counts exactly them
        for (String id : guests.keySet()) {
            assertTrue(farm.table.vm(id).orElseThrow().state().occupiesHost(), id);
        }
        long held = farm.table.occupying().stream().filter(StateTable::holdsHost)
                .filter(vm -> vm.hostId().equals("large")).count();
        assertEquals(held, farm.hosts.status("large").orElseThrow().used().vms());
        assertFalse(farm.table.vms().stream().anyMatch(vm -> vm.state() == VmState.FAILED));

        // and it serves on: the resumed VM is granted at once
        Outcome outcome = farm.manager.request(new ServiceRequest("wiki", "2.1", WIKI.environment(), "standard", null,
                Duration.ofSeconds(60)));
        assertInstanceOf(Outcome.Granted.class, outcome);
    }

    private VmState state(String id) {
        return farm.table.vm(id).orElseThrow().state();
    }

    private static void row(List<VmRecord> rows, Map<String, VmState> guests, String id, VmState state,
                            VmState guest, Instant since) {
        VmRecord vm = new VmRecord(id, "large", "img-wiki", WIKI, Map.of("wiki", new Endpoint("127.0.0.1",
                21000 + rows.size())), state, new Capacity(1, 256, 1), since, null, 0, "before the crash")
                .since(since);
        rows.add(vm);
        if (guest != null) {
            guests.put(id, guest);
        }
    }
}
