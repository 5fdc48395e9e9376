package org.servicefarm.store.jdbc.internal;

import javax.sql.DataSource;

import org.h2.jdbcx.JdbcDataSource;

/** The store on H2, the appliance's embedded default (in memory here, a file in the appliance's data/ there). */
class H2VmStoreTest extends VmStoreContract {
    private static int databases;

    @Override
    DataSource dataSource() {
        JdbcDataSource h2 = new JdbcDataSource();
        // one database per test, kept while any connection or the test's stores are open
        h2.setURL("jdbc:h2:mem:store" + (++databases) + ";DB_CLOSE_DELAY=-1");
        return h2;
    }
}
