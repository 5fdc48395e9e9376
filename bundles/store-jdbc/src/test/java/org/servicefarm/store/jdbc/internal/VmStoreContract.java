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
import org.servicefarm.api.VmRecord;
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
        store.activate(config("appliance", 60_000, 1000));
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

    /** The test database as an appliance called {@code name} opens it (migrating it the first time). */
    Database database(String name) throws SQLException {
        return new Database(dataSource, config(name, 60_000, 1000));
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
            assertEquals(2, warm.size(), warm.toString());
            assertEquals("GRANTED ACTIVE x250", warm.stream().filter(e -> e.actor().equals("operator")).findFirst()
                    .orElseThrow().outcome());
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
        };
    }
}
