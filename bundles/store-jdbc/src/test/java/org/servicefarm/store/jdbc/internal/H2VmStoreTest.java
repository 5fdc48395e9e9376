package org.servicefarm.store.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.servicefarm.store.jdbc.internal.RowCodecTest.vm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import javax.sql.DataSource;

import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * The store on H2, the appliance's embedded default: the contract on a database in memory, and, as the appliance
 * keeps it, on a file in a folder of its own that outlives the database being closed.
 */
class H2VmStoreTest extends VmStoreContract {
    private static int databases;

    @Override
    DataSource dataSource() {
        JdbcDataSource h2 = new JdbcDataSource();
        // one database per test, kept while any connection or the test's stores are open
        h2.setURL("jdbc:h2:mem:store" + (++databases) + ";DB_CLOSE_DELAY=-1");
        return h2;
    }

    @Test
    void aFileDatabaseKeepsItsRowsWhenItIsClosedAndOpenedAgain(@TempDir Path data) throws Exception {
        String url = "jdbc:h2:" + data.resolve("servicefarm/store").toAbsolutePath();
        JdbcVmStore before = fileStore(url);
        before.insert(vm("sf-a", VmState.ACTIVE));
        before.transition("sf-a", VmState.ACTIVE, VmState.SLEEPING, v -> v.withState(v.state(), "idle"));
        Instant used = Instant.parse("2026-11-26T06:00:00Z");
        before.transition("sf-a", VmState.SLEEPING, VmState.SLEEPING, v -> v.granted(used));
        before.deactivate(); // the last connection closes: H2 closes the file

        assertEquals(true, Files.exists(data.resolve("servicefarm/store.mv.db")));
        JdbcVmStore after = fileStore(url);
        try {
            VmRecord read = after.vm("sf-a").orElseThrow();
            assertEquals(VmState.SLEEPING, read.state());
            assertEquals("idle", read.detail());
            assertEquals(8, read.grants(), "the grant written behind was written at the stop");
            assertEquals(used, read.lastUsedAt());
        } finally {
            after.deactivate();
        }
    }

    private static JdbcVmStore fileStore(String url) throws Exception {
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL(url);
        Database.Config config = config("file", 60_000, 1000);
        JdbcVmStore store = new JdbcVmStore();
        store.database = new Database(h2, config, null);
        store.activate(config, null);
        return store;
    }
}
