package org.servicefarm.store.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.servicefarm.store.jdbc.internal.RowCodecTest.vm;

import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import java.util.Map;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.store.ImageCatalog;
import org.servicefarm.api.store.HostDrains;
import org.servicefarm.api.store.VmStore;
import org.servicefarm.api.VmState;

/** What any database behind {@link JdbcVmStore} must do; run on H2 and on a real PostgreSQL. */
abstract class VmStoreContract {
    private final List<JdbcVmStore> opened = new ArrayList<>();

    /** A data source on an empty database of the product under test. */
    abstract DataSource dataSource() throws Exception;

    private DataSource dataSource;

    @BeforeEach
    void empty() throws Exception {
        dataSource = dataSource();
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS vm");
            s.execute("DROP TABLE IF EXISTS audit");
            s.execute("DROP TABLE IF EXISTS leader");
            s.execute("DROP TABLE IF EXISTS host_claim");
            s.execute("DROP TABLE IF EXISTS offering_claim");
            s.execute("DROP TABLE IF EXISTS appliance");
            s.execute("DROP TABLE IF EXISTS host_registration");
            s.execute("DROP TABLE IF EXISTS native_registration");
            s.execute("DROP TABLE IF EXISTS demand");
            s.execute("DROP TABLE IF EXISTS image_catalog");
            s.execute("DROP TABLE IF EXISTS farm_key");
            s.execute("DROP TABLE IF EXISTS host_drain");
            s.execute("DROP TABLE IF EXISTS schema_history");
        }
    }

    @AfterEach
    void close() {
        opened.forEach(JdbcVmStore::deactivate);
    }

    /** An appliance's store on the test database; several may be open on it at once, as appliances sharing it. */
    JdbcVmStore open() throws SQLException {
        JdbcVmStore store = new JdbcVmStore();
        store.database = database("appliance-" + (opened.size() + 1));
        store.activate(config("appliance", 60_000, 1000), null);
        opened.add(store);
        return store;
    }

    @Test
    void rowsAreAddedOnceAndFoundByOffering() throws Exception {
        JdbcVmStore store = open();
        VmRecord a = vm("sf-a", VmState.ACTIVE);
        assertTrue(store.insert(a));
        assertFalse(store.insert(a), "a second insert of one id changes nothing");
        assertTrue(store.insert(vm("sf-b", VmState.SLEEPING)));
        assertEquals(List.of("sf-a", "sf-b"), store.offering(a.offering()).stream().map(VmRecord::id).toList());
        assertEquals(2, store.occupying().size());
        assertEquals(a, store.vm("sf-a").orElseThrow());
    }

    @Test
    void aMoveIsInTheDatabaseBeforeTheCallerHearsOfIt() throws Exception {
        JdbcVmStore store = open();
        store.insert(vm("sf-a", VmState.ACTIVE));
        assertTrue(store.transition("sf-a", VmState.SLEEPING, VmState.ARCHIVED, v -> v).isEmpty(),
                "a compare on the wrong state changes nothing");
        var change = store.transition("sf-a", VmState.ACTIVE, VmState.SLEEPING, v -> v.withState(v.state(), "idle"));
        assertEquals(VmState.ACTIVE, change.orElseThrow().before().state());
        assertEquals(VmState.SLEEPING, change.orElseThrow().after().state());
        // a crash now: no flush, no deactivation; a new appliance reads the move
        JdbcVmStore after = open();
        assertEquals(VmState.SLEEPING, after.vm("sf-a").orElseThrow().state());
        assertEquals("idle", after.vm("sf-a").orElseThrow().detail());
    }

    @Test
    void aGrantIsWrittenBehindAndKeptOverAnOrderlyStop() throws Exception {
        JdbcVmStore store = open();
        store.insert(vm("sf-a", VmState.ACTIVE));
        Instant when = Instant.parse("2026-11-26T05:00:00Z");
        store.transition("sf-a", VmState.ACTIVE, VmState.ACTIVE, v -> v.granted(when));
        assertEquals(7, open().vm("sf-a").orElseThrow().grants(), "not written yet: it waits behind");
        store.flush();
        VmRecord read = open().vm("sf-a").orElseThrow();
        assertEquals(8, read.grants());
        assertEquals(when, read.lastUsedAt());
        store.transition("sf-a", VmState.ACTIVE, VmState.ACTIVE, v -> v.granted(when));
        store.deactivate();
        assertEquals(9, open().vm("sf-a").orElseThrow().grants(), "a stop writes what waited");
    }

    @Test
    void aRowAnotherApplianceMovedIsComparedAsItIsNow() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        one.insert(vm("sf-a", VmState.ACTIVE));
        JdbcVmStore late = open(); // loads the row as ACTIVE
        assertTrue(two.vm("sf-a").isEmpty(), "two opened before the row existed");
        assertTrue(one.transition("sf-a", VmState.ACTIVE, VmState.SLEEPING, v -> v).isPresent());
        // late still sees ACTIVE: its own move from ACTIVE must fail on the stored generation, not overwrite
        assertEquals(VmState.ACTIVE, late.vm("sf-a").orElseThrow().state());
        assertTrue(late.transition("sf-a", VmState.ACTIVE, VmState.DESTROYING, v -> v).isEmpty());
        assertEquals(VmState.SLEEPING, late.vm("sf-a").orElseThrow().state(), "and it now knows the row as it is");
        // and a move that holds on the row as it is now succeeds after the reread
        JdbcVmStore stale = open();
        one.transition("sf-a", VmState.SLEEPING, VmState.ACTIVE, v -> v);
        assertTrue(stale.transition("sf-a", VmState.SLEEPING, VmState.RESUMING, v -> v).isEmpty());
        assertTrue(stale.transition("sf-a", VmState.ACTIVE, VmState.SLEEPING, v -> v).isPresent());
        assertEquals(VmState.SLEEPING, open().vm("sf-a").orElseThrow().state());
    }

    @Test
    void oneOfManyConcurrentMovesFromOneStateWins() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        one.insert(vm("sf-a", VmState.ACTIVE));
        two.transition("sf-a", VmState.ACTIVE, VmState.ACTIVE, v -> v); // two reads it in
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Boolean>> moves = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                JdbcVmStore store = i % 2 == 0 ? one : two;
                moves.add(() -> store.transition("sf-a", VmState.ACTIVE, VmState.SLEEPING, v -> v).isPresent());
            }
            int won = 0;
            for (Future<Boolean> f : pool.invokeAll(moves)) {
                won += f.get() ? 1 : 0;
            }
            assertEquals(1, won);
        } finally {
            pool.shutdown();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void removalAndHistory() throws Exception {
        JdbcVmStore store = open();
        store.insert(vm("sf-a", VmState.ACTIVE));
        store.transition("sf-a", VmState.ACTIVE, VmState.DESTROYED, v -> v);
        assertTrue(store.offering(vm("sf-a", VmState.ACTIVE).offering()).isEmpty(), "a gone VM occupies nothing");
        assertEquals(VmState.DESTROYED, open().vm("sf-a").orElseThrow().state(), "kept as history");
        assertTrue(store.remove("sf-a", VmState.ACTIVE).isEmpty());
        assertTrue(store.remove("sf-a", VmState.DESTROYED).isPresent());
        assertTrue(open().vm("sf-a").isEmpty());
    }

    // ---- several appliances on one database ---------------------------------------------------------------

    /** A new VM of {@code offering}'s service on {@code host}, in {@code state}. */
    private static VmRecord on(String id, String host, VmState state, String service) {
        VmRecord vm = vm(id, state);
        Offering offering = new Offering(service, vm.offering().version(), vm.offering().environment(),
                vm.offering().securityLevel());
        return new VmRecord(id, host, vm.imageId(), offering, Map.of(), state, vm.resources(), vm.createdAt(), null, 0,
                null);
    }

    @Test
    void anApplianceSeesWhatAnotherAddedMovedAndRemovedAndTellsItsObserver() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        assertTrue(two.observe((before, after) -> told.add((before == null ? "-" : before.state().toString()) + ">"
                + (after == null ? "-" : after.state().toString()))).isEmpty());
        assertTrue(one.insert(vm("sf-a", VmState.CREATING)));
        two.poll();
        assertEquals(VmState.CREATING, two.vm("sf-a").orElseThrow().state());
        assertEquals(1, two.offering(vm("sf-a", VmState.CREATING).offering()).size());
        assertTrue(one.transition("sf-a", VmState.CREATING, VmState.ACTIVE, v -> v).isPresent());
        two.poll();
        two.poll(); // read again (the overlap): told once
        assertEquals(VmState.ACTIVE, two.vm("sf-a").orElseThrow().state());
        assertTrue(one.transition("sf-a", VmState.ACTIVE, VmState.DESTROYED, v -> v).isPresent());
        assertTrue(one.remove("sf-a", VmState.DESTROYED).isPresent());
        two.poll(); // it never saw the row DESTROYED: it is gone
        two.dropRemoved(); // a poll does this every minute or so
        assertTrue(two.occupying().isEmpty());
        assertTrue(two.vm("sf-a").isEmpty());
        assertEquals(List.of("-" + ">CREATING", "CREATING>ACTIVE", "ACTIVE>-"), told);
    }

    @Test
    void concurrentClaimsOfTwoAppliancesNeverOverCommitAHost() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        Capacity host = new Capacity(8, 8192, 3);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<VmStore.Claim>> claims = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                JdbcVmStore store = i % 2 == 0 ? one : two;
                // each its own offering: only the host's room is contended
                VmRecord vm = on("sf-" + i, "alpha", VmState.CREATING, "svc" + i);
                claims.add(pool.submit(() -> store.claim(vm, host)));
            }
            int added = 0;
            for (Future<VmStore.Claim> claim : claims) {
                VmStore.Claim c = claim.get(60, TimeUnit.SECONDS);
                assertTrue(c instanceof VmStore.Claim.Added || c instanceof VmStore.Claim.NoRoom, c.toString());
                added += c instanceof VmStore.Claim.Added ? 1 : 0;
            }
            assertEquals(3, added, "exactly the host's 3 VMs are claimed, across both appliances");
        } finally {
            pool.shutdownNow();
        }
        one.poll();
        assertEquals(3, one.occupying().size(), "after a poll each appliance sees every claim that passed");
        // a restore onto the full host is refused; after a VM left, it passes
        JdbcVmStore store = open();
        assertTrue(store.insert(on("sf-archived", "beta", VmState.ARCHIVED, "archived")));
        assertTrue(store.transition("sf-archived", VmState.ARCHIVED, VmState.RESTORING, v -> v.withHost("alpha"),
                host).isEmpty(), "alpha is full");
        String leaving = store.occupying().stream().filter(v -> v.hostId().equals("alpha")).findFirst().orElseThrow()
                .id();
        assertTrue(store.transition(leaving, VmState.CREATING, VmState.DESTROYED, v -> v).isPresent());
        assertTrue(store.transition("sf-archived", VmState.ARCHIVED, VmState.RESTORING, v -> v.withHost("alpha"),
                host).isPresent());
    }

    @Test
    void anOfferingIsCreatedOnceAcrossAppliances() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        Capacity host = new Capacity(8, 8192, 8);
        assertTrue(one.claim(on("sf-1", "alpha", VmState.CREATING, "wiki"), host) instanceof VmStore.Claim.Added);
        VmStore.Claim second = two.claim(on("sf-2", "beta", VmState.CREATING, "wiki"), host);
        assertTrue(second instanceof VmStore.Claim.BeingCreated, second.toString());
        assertEquals("sf-1", ((VmStore.Claim.BeingCreated) second).other().id());
        assertEquals(VmState.CREATING, two.vm("sf-1").orElseThrow().state(), "the refused claim read the other's rows");
        assertTrue(two.claim(on("sf-3", "beta", VmState.CREATING, "blog"), host) instanceof VmStore.Claim.Added);
        assertTrue(one.transition("sf-1", VmState.CREATING, VmState.ACTIVE, v -> v).isPresent());
        assertTrue(two.claim(on("sf-4", "beta", VmState.CREATING, "wiki"), host) instanceof VmStore.Claim.Added,
                "a second VM once the first is created");
    }

    @Test
    void aMoveLeftHalfWayByAnApplianceThatIsGoneIsTold() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        assertTrue(one.insert(vm("sf-a", VmState.CREATING)));
        one.poll(); // alive now: opening two (its migrations) may take longer than the lease on a loaded machine
        two.poll();
        VmRecord row = two.vm("sf-a").orElseThrow();
        assertEquals(VmStore.Worker.THIS, one.worker(row));
        assertEquals(VmStore.Worker.ELSEWHERE, two.worker(row), "its maker is alive");
        one.deactivate(); // stops saying it is alive
        Thread.sleep(LEASE_MS + 200);
        two.poll();
        assertEquals(VmStore.Worker.GONE, two.worker(row));
        assertTrue(two.transition("sf-a", VmState.CREATING, VmState.DESTROYED, v -> v).isPresent());
        assertEquals(VmStore.Worker.THIS, two.worker(two.vm("sf-a").orElseThrow()), "the last mover works on it");
    }

    @Test
    void grantsCountedBehindByTwoAppliancesAreAddedNotLost() throws Exception {
        JdbcVmStore one = open();
        JdbcVmStore two = open();
        VmRecord a = vm("sf-a", VmState.ACTIVE);
        assertTrue(one.insert(a));
        two.poll();
        Instant when = Instant.parse("2026-11-26T07:00:00Z");
        for (int i = 0; i < 5; i++) {
            assertTrue(one.transition("sf-a", VmState.ACTIVE, VmState.ACTIVE, v -> v.granted(when)).isPresent());
            assertTrue(two.transition("sf-a", VmState.ACTIVE, VmState.ACTIVE, v -> v.granted(when)).isPresent());
        }
        one.flush();
        two.flush(); // conflicts with one's write: merged, written at the next flush
        two.flush();
        assertEquals(a.grants() + 10, open().vm("sf-a").orElseThrow().grants());
    }

    @Test
    void aHostRegisteredByOneApplianceIsReadByAnother() throws Exception {
        JdbcHostRegistrations one = new JdbcHostRegistrations(database("one"));
        JdbcHostRegistrations two = new JdbcHostRegistrations(database("two"));
        org.servicefarm.api.HostRecord delta = new org.servicefarm.api.HostRecord("delta", "libvirt", "qemu:///system",
                new Capacity(4, 4096, 4), 0.2, "standard", Map.of("portRange", "24000-24099"), 1.5);
        one.put(delta);
        assertEquals(List.of(delta), two.hosts());
        org.servicefarm.api.HostRecord bigger = new org.servicefarm.api.HostRecord("delta", "libvirt",
                "qemu:///system", new Capacity(8, 8192, 8), 0.2, "standard", Map.of(), 1.0);
        two.put(bigger);
        assertEquals(List.of(bigger), one.hosts(), "registered again: replaced");
        one.remove("delta");
        one.remove("delta");
        assertTrue(two.hosts().isEmpty());
    }

    @Test
    void aNativeServiceRegisteredByOneApplianceIsReadByAnother() throws Exception {
        JdbcNativeRegistrations one = new JdbcNativeRegistrations(database("one"));
        JdbcNativeRegistrations two = new JdbcNativeRegistrations(database("two"));
        Offering wiki = vm("sf-a", VmState.ACTIVE).offering();
        org.servicefarm.api.NativeService s140 = new org.servicefarm.api.NativeService("s140-wiki", "s140", wiki,
                new org.servicefarm.api.Endpoint("10.0.0.140", 8080), "standard");
        one.put(s140);
        assertEquals(List.of(s140), two.natives());
        org.servicefarm.api.NativeService moved = new org.servicefarm.api.NativeService("s140-wiki", "s140", wiki,
                new org.servicefarm.api.Endpoint("fd00::140", 8081), "standard");
        two.put(moved);
        assertEquals(List.of(moved), one.natives(), "registered again: replaced");
        one.remove("s140-wiki");
        one.remove("s140-wiki");
        assertTrue(two.natives().isEmpty());
    }

    @Test
    void eachAppliancesImageCatalogIsWrittenWhereItChangedAndReadBackByItAlone() throws Exception {
        JdbcImageCatalog one = new JdbcImageCatalog(database("one"));
        JdbcImageCatalog two = new JdbcImageCatalog(database("two"));
        Offering wiki = vm("sf-a", VmState.ACTIVE).offering();
        Instant made = Instant.parse("2026-11-26T10:00:00.123456789Z");
        ImageCatalog.Entry built = new ImageCatalog.Entry("0123456789abcdef01234567", ImageRef.Kind.BUILT, wiki,
                null, null, 48 << 20, made, made.plusSeconds(60), 3, java.time.Duration.ofMillis(270));
        ImageCatalog.Entry checkpoint = new ImageCatalog.Entry("cp-0123456789abcdef01234567@qemu-direct",
                ImageRef.Kind.CHECKPOINT, wiki, built.id(), "qemu-direct", 130 << 20, made.plusSeconds(5), null, 0,
                null);
        ImageCatalog.Entry elsewhere = new ImageCatalog.Entry("img-00ff00ff00ff00ff", ImageRef.Kind.BUILT, null, null,
                null, 0, made, null, 0, null);
        one.write(List.of(built, checkpoint));
        two.write(List.of(elsewhere));
        assertEquals(java.util.Set.of(built, checkpoint), java.util.Set.copyOf(
                new JdbcImageCatalog(database("one")).entries()), "read back whole, the other appliance's apart");

        ImageCatalog.Entry usedAgain = new ImageCatalog.Entry(built.id(), built.kind(), wiki, null, null,
                built.sizeBytes(), made, made.plusSeconds(120), 4, built.buildCost());
        one.write(List.of(usedAgain)); // the checkpoint is gone
        one.write(List.of(usedAgain)); // nothing changed: nothing written
        assertEquals(List.of(usedAgain), new JdbcImageCatalog(database("one")).entries());
        assertEquals(List.of(elsewhere), two.entries());
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery("SELECT kind, offering_key, uses, last_used_at FROM image_catalog "
                     + "WHERE appliance = 'one'")) {
            assertTrue(rs.next());
            assertEquals("BUILT", rs.getString(1));
            assertEquals(wiki.key(), rs.getString(2));
            assertEquals(4, rs.getLong(3));
            assertEquals(made.plusSeconds(120).toEpochMilli(), rs.getTimestamp(4).toInstant().toEpochMilli());
            assertFalse(rs.next());
        }
    }

    @Test
    void aHostDrainedByOneApplianceIsReadByAnotherAndOutlivesIt() throws Exception {
        JdbcHostDrains one = new JdbcHostDrains(database("one"));
        JdbcHostDrains two = new JdbcHostDrains(database("two"));
        Instant before = Instant.now().minusSeconds(60); // the database's clock, within a minute of ours
        one.drain("alpha", true);
        one.drain("beta", true);
        List<HostDrains.Drain> drains = two.drains();
        assertEquals(List.of("alpha", "beta"), drains.stream().map(HostDrains.Drain::host).toList());
        HostDrains.Drain alpha = drains.get(0);
        assertEquals("one", alpha.appliance());
        assertTrue(alpha.since().isAfter(before), alpha.toString());
        two.drain("alpha", true);
        assertEquals(alpha, one.drains().get(0), "drained again: still since its first drain, by the first");
        two.drain("alpha", false);
        two.drain("alpha", false);
        two.drain("gamma", false);
        assertEquals(List.of("beta"), new JdbcHostDrains(database("one, restarted")).drains().stream()
                .map(HostDrains.Drain::host).toList());
    }

    @Test
    void concurrentDrainsOfOneHostAllSucceedAndKeepOneRow() throws Exception {
        List<JdbcHostDrains> appliances = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            appliances.add(new JdbcHostDrains(database("appliance-" + i)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(appliances.size());
        try {
            List<Future<?>> drains = new ArrayList<>();
            for (JdbcHostDrains appliance : appliances) {
                drains.add(pool.submit(() -> appliance.drain("alpha", true)));
            }
            for (Future<?> drain : drains) {
                drain.get(30, TimeUnit.SECONDS); // none fails on the others' row
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, appliances.get(0).drains().size());
    }

    @Test
    void aFarmKeyIsMadeOnceAndTheSameForEveryApplianceOfTheDatabase() throws Exception {
        byte[] one = new JdbcFarmKeys(database("one")).key("retry-tickets");
        assertEquals(32, one.length);
        byte[] two = new JdbcFarmKeys(database("two")).key("retry-tickets");
        assertTrue(java.util.Arrays.equals(one, two), "the other appliance reads the first one's key");
        JdbcFarmKeys restarted = new JdbcFarmKeys(database("one"));
        assertTrue(java.util.Arrays.equals(one, restarted.key("retry-tickets")), "kept across a restart");
        assertFalse(java.util.Arrays.equals(one, restarted.key("other")), "each name its own key");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> restarted.key("a b"));
    }

    @Test
    void whatEachApplianceIsAskedIsReadByTheOthers() throws Exception {
        JdbcDemandCounts one = new JdbcDemandCounts(database("one"));
        JdbcDemandCounts two = new JdbcDemandCounts(database("two"));
        try {
            org.servicefarm.api.Offering wiki = vm("sf-a", VmState.ACTIVE).offering();
            long minute = System.currentTimeMillis() / 60_000;
            for (int i = 0; i < 3; i++) {
                one.add(wiki, minute);
            }
            one.add(wiki, minute - 1);
            one.flush();
            one.add(wiki, minute); // added to the row written before
            one.flush();
            two.flush();
            assertEquals(4, two.othersAsked(wiki, minute));
            assertEquals(5, two.othersAsked(wiki, minute - 1));
            assertEquals(List.of(new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute - 1, 1),
                    new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute, 4)), two.others(minute - 5).stream()
                    .sorted(java.util.Comparator.comparingLong(org.servicefarm.api.store.DemandCounts.Asked::minute))
                    .toList());
            assertEquals(0, one.othersAsked(wiki, minute - 1), "its own requests are not the others'");
        } finally {
            one.deactivate();
            two.deactivate();
        }
    }

    @Test
    void theHistoryIsEveryAppliancesRequestsOldestMinuteFirstThoseNotYetWrittenIncluded() throws Exception {
        JdbcDemandCounts one = new JdbcDemandCounts(database("one"));
        JdbcDemandCounts two = new JdbcDemandCounts(database("two"));
        try {
            org.servicefarm.api.Offering wiki = vm("sf-a", VmState.ACTIVE).offering();
            long minute = System.currentTimeMillis() / 60_000;
            one.add(wiki, minute - 30);
            one.add(wiki, minute - 2);
            one.flush();
            two.add(wiki, minute - 2);
            two.add(wiki, minute);
            two.add(wiki, minute); // not written yet: history() writes it first
            assertEquals(List.of(new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute - 2, 2),
                            new org.servicefarm.api.store.DemandCounts.Asked(wiki, minute, 2)),
                    two.history(minute - 10), "both appliances' requests, the minute before 'from' left out");
            assertEquals(3, one.history(minute - 60).stream()
                    .mapToLong(org.servicefarm.api.store.DemandCounts.Asked::minute).distinct().count());
            assertEquals(2, one.othersAsked(wiki, minute), "others() reads what history() read: two's writes");
        } finally {
            one.deactivate();
            two.deactivate();
        }
    }

    /** The test database as an appliance called {@code name} opens it (migrating it the first time). */
    Database database(String name) throws SQLException {
        return new Database(dataSource, config(name, 60_000, 1000), null);
    }

    @Test
    void theAuditTrailPagesByIdAndCutsWhatIsTooLong() throws Exception {
        JdbcAuditTrail one = new JdbcAuditTrail(database("one"));
        JdbcAuditTrail two = new JdbcAuditTrail(database("two"));
        try {
            for (int i = 0; i < 5; i++) {
                one.record("operator", "request", "wiki@2.1", "GRANTED", "warm " + i);
            }
            one.flush(); // ids follow the order of writing, which is per appliance
            two.record(null, "sleep", "sf-a", "done", "x".repeat(5000));
            two.flush();
            var first = one.entries(null, 0, 4);
            assertEquals(4, first.size());
            assertEquals("warm 0", first.get(0).reason());
            assertEquals("one", first.get(0).appliance());
            var rest = one.entries(null, first.get(3).id(), 1000);
            assertEquals(2, rest.size(), "both appliances' entries in one trail");
            assertEquals("two", rest.get(1).appliance());
            assertEquals("?", rest.get(1).actor());
            assertEquals(4000, rest.get(1).reason().length());
            assertTrue(one.entries(Instant.now().plusSeconds(60), 0, 10).isEmpty());
            // warm grants are counted, one entry per login, offering and VM at each flush
            for (int i = 0; i < 250; i++) {
                one.record("operator", "request", "wiki@2.1", "GRANTED ACTIVE", "VM sf-a on alpha");
            }
            one.record("viewer", "request", "wiki@2.1", "GRANTED ACTIVE", "VM sf-a on alpha");
            var warm = one.entries(null, rest.get(1).id(), 1000);
            // the writer may flush while they are recorded: one entry per flush, the counts adding up to 250
            var operator = warm.stream().filter(e -> e.actor().equals("operator")).toList();
            assertTrue(operator.size() <= 3, warm.toString());
            assertEquals(250, operator.stream().mapToInt(e -> Integer.parseInt(e.outcome()
                    .replace("GRANTED ACTIVE x", "").replace("GRANTED ACTIVE", "1"))).sum(), warm.toString());
            assertEquals(1, warm.size() - operator.size(), warm.toString());
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> one.entries(null, 0, 0));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> one.entries(null, -1, 10));
        } finally {
            one.deactivate();
            two.deactivate();
        }
    }

    @Test
    void oneApplianceLeadsAndAnotherTakesOverWhenItGoes() throws Exception {
        Database one = database("one");
        JdbcLeadership first = new JdbcLeadership(one, java.time.Clock.systemUTC(), 3);
        JdbcLeadership second = new JdbcLeadership(database("two"), java.time.Clock.systemUTC(), 3);
        try {
            if (one.product() == Database.Product.H2) {
                assertTrue(first.leads() && second.leads(), "an embedded database serves one appliance: it leads");
                return;
            }
            assertTrue(first.leads());
            assertFalse(second.leads(), "one leader at a time");
            assertEquals("one", second.leader());
            first.deactivate(); // the leader goes: its session's lock is released
            second.tick();
            assertTrue(second.leads());
            assertEquals("two", second.leader());
        } finally {
            first.deactivate();
            second.deactivate();
        }
    }

    /** How long an appliance of these tests may be silent before the others take it as gone. */
    static final long LEASE_MS = 400;

    static Database.Config config(String name, long writeBehindMs, int historyLimit) {
        return new Database.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return Database.Config.class;
            }

            @Override
            public String dataSource_target() {
                return "";
            }

            @Override
            public String applianceName() {
                return name;
            }

            @Override
            public long writeBehindMs() {
                return writeBehindMs;
            }

            @Override
            public int historyLimit() {
                return historyLimit;
            }

            @Override
            public long pollMs() {
                return 3_600_000; // the tests poll when they mean to
            }

            @Override
            public long applianceLeaseMs() {
                return LEASE_MS;
            }
        };
    }
}
