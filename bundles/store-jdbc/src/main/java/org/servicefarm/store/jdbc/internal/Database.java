package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A database the store writes to: its {@link DataSource} (from pax-jdbc, never a pool of our own), its product, and
 * its schema brought to the newest version by Flyway before anything reads it.
 */
final class Database {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);
    /** Where the versioned scripts lie in this bundle; Flyway finds them through the bundle's class loader. */
    static final String MIGRATIONS = "classpath:org/servicefarm/store/jdbc/migration";

    /** The products the scripts are written for. */
    enum Product {
        H2, POSTGRESQL;

        static Product of(String name) throws SQLException {
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.contains("h2")) {
                return H2;
            }
            if (lower.contains("postgres")) {
                return POSTGRESQL;
            }
            throw new SQLException("unsupported database " + name + ": the store runs on H2 or PostgreSQL");
        }
    }

    private final DataSource dataSource;
    private final Product product;
    private final String description;

    private Database(DataSource dataSource, Product product, String description) {
        this.dataSource = dataSource;
        this.product = product;
        this.description = description;
    }

    /** Opens the database behind {@code dataSource} and migrates its schema; fails if it cannot be brought up. */
    static Database open(DataSource dataSource) throws SQLException {
        Product product;
        String description;
        try (Connection c = dataSource.getConnection()) {
            var meta = c.getMetaData();
            product = Product.of(meta.getDatabaseProductName());
            description = meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion() + " at "
                    + safeUrl(meta.getURL());
        }
        MigrateResult result = Flyway.configure(Database.class.getClassLoader())
                .dataSource(dataSource)
                .locations(MIGRATIONS)
                .table("schema_history")
                .load()
                .migrate();
        LOG.info("Store on {}: schema at version {} ({} migration(s) applied now)", description,
                result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                result.migrationsExecuted);
        return new Database(dataSource, product, description);
    }

    Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    Product product() {
        return product;
    }

    /** Product, version and URL (without credentials), for the status page and the log. */
    String description() {
        return description;
    }

    /** A JDBC URL without what may follow a '?' or ';' (options, sometimes a password). */
    static String safeUrl(String url) {
        if (url == null) {
            return "?";
        }
        int cut = url.length();
        for (char c : new char[] {'?', ';'}) {
            int i = url.indexOf(c);
            if (i >= 0 && i < cut) {
                cut = i;
            }
        }
        return url.substring(0, cut);
    }
}
