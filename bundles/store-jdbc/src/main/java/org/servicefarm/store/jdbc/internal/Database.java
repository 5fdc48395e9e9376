package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.config.ConfiguredSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database the store writes to: its {@link DataSource} (from pax-jdbc, never a pool of our own), its product, and
 * its schema brought to the newest version by Flyway before anything reads it. One per bundle, shared by the VM
 * store and the audit trail, so the schema is migrated once.
 */
@Component(service = Database.class, configurationPid = JdbcVmStore.PID)
@Designate(ocd = Database.Config.class)
public final class Database {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);
    /** Where the versioned scripts lie in this bundle; Flyway finds them through the bundle's class loader. */
    static final String MIGRATIONS = "classpath:org/servicefarm/store/jdbc/migration";
    /** What both H2 and PostgreSQL say when a row's primary key is taken. */
    static final String UNIQUE_VIOLATION = "23505";

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

    @ObjectClassDefinition(name = "ServiceFarm store",
            description = "Which database the farm's state is kept in, what this appliance is called there, and how "
                    + "the VM store writes to it.")
    public @interface Config {
        @AttributeDefinition(description = "Filter of the javax.sql.DataSource service to use (pax-jdbc-config "
                + "registers it from etc/org.ops4j.datasource-servicefarm.cfg).")
        String dataSource_target() default "(dataSourceName=servicefarm)";

        @AttributeDefinition(description = "This appliance's name in the audit trail and among appliances sharing "
                + "one database; empty for the machine's host name.")
        String applianceName() default "";

        @AttributeDefinition(description = "How long a change within a state (a grant's count and time) may wait "
                + "before it is written, in milliseconds; moves between states are always written at once.")
        long writeBehindMs() default 1000;

        @AttributeDefinition(description = "How often the VM store reads the rows other appliances sharing the "
                + "database changed, in milliseconds.")
        long pollMs() default 500;

        @AttributeDefinition(description = "How long an appliance sharing the database may go without saying it is "
                + "alive before the others take it as gone and end the moves it left half-way, and within which "
                + "another appliance leads when the leader goes, in milliseconds.")
        long applianceLeaseMs() default 15000;

        @AttributeDefinition(description = "How many rows of VMs that are gone (DESTROYED, FAILED) are kept as "
                + "history; older ones are deleted.")
        int historyLimit() default 1000;
    }

    private final DataSource dataSource;
    private final Product product;
    private final String description;
    private final String applianceName;
    private final long leaseMs;
    /** A typo must not take the store, and the farm waiting for it, away: it runs on what it accepted last. */
    private final ConfiguredSettings<Config, Identity> configuration = new ConfiguredSettings<>(JdbcVmStore.PID,
            Config.class, c -> new Identity(c.applianceName().isBlank() ? hostName() : c.applianceName().strip(),
                    Math.max(1000, c.applianceLeaseMs())));

    /** Who this appliance is among those sharing the database, and how long its silence is taken for life. */
    private record Identity(String applianceName, long leaseMs) {
    }

    @Activate
    public Database(@Reference(name = "dataSource") DataSource dataSource, Config config, ComponentContext context)
            throws SQLException {
        this.dataSource = dataSource;
        Identity identity = configuration.accept(context, config);
        this.leaseMs = identity.leaseMs();
        this.applianceName = identity.applianceName();
        String[] described = new String[1];
        this.product = migrate(dataSource, described);
        this.description = described[0];
    }

    @Deactivate
    void deactivate() {
        configuration.close();
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "appliance";
        }
    }

    /** Migrates the schema behind {@code dataSource}; fails if it cannot be brought up. */
    private static Product migrate(DataSource dataSource, String[] described) throws SQLException {
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
        described[0] = description;
        return product;
    }

    /** This appliance's name among those sharing the database. */
    String applianceName() {
        return applianceName;
    }

    /**
     * How long an appliance sharing the database may go without saying it is alive before the others take it as gone:
     * its moves left half-way are ended, and another appliance leads within it.
     */
    long leaseMs() {
        return leaseMs;
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
