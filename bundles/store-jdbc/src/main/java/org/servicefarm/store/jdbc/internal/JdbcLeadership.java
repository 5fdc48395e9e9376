package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.store.Leadership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leadership among the appliances sharing the store's database.
 * <p>
 * On PostgreSQL the leader holds a session-level advisory lock on a connection of its own: PostgreSQL releases it
 * the moment that session ends, whether the appliance stopped, crashed or lost the network, and every other appliance
 * tries to take it every {@code leaseSeconds / 3}, so another leads within the lease. The leader also writes who it is
 * into the {@code leader} row, for the others' status pages. On H2 (embedded, one appliance) this appliance leads.
 */
@Component(service = Leadership.class, immediate = true)
public class JdbcLeadership implements Leadership {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcLeadership.class);
    /** The advisory lock's key: "SFLEADER" in ASCII, unlikely to meet another application's. */
    static final long LOCK_KEY = 0x53464C4541444552L;

    private final Database database;
    private final Clock clock;
    private final long leaseSeconds;
    private final ScheduledExecutorService ticker;
    private volatile boolean leads;
    private volatile String leader;
    /** The session holding the lock while this appliance leads on PostgreSQL. */
    private Connection held;

    @Activate
    public JdbcLeadership(@Reference Database database) {
        this(database, Clock.systemUTC(), Math.max(3, database.leaseMs() / 1000));
    }

    JdbcLeadership(Database database, Clock clock, long leaseSeconds) {
        this.database = database;
        this.clock = clock;
        this.leaseSeconds = leaseSeconds;
        if (database.product() != Database.Product.POSTGRESQL) {
            leads = true;
            leader = database.applianceName();
            ticker = null;
            return;
        }
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-leadership");
            t.setDaemon(true);
            return t;
        });
        tick();
        long period = Math.max(1, leaseSeconds / 3);
        ticker.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.SECONDS);
    }

    @Deactivate
    synchronized void deactivate() {
        if (ticker != null) {
            ticker.shutdown();
        }
        release();
    }

    @Override
    public boolean leads() {
        return leads;
    }

    @Override
    public String appliance() {
        return database.applianceName();
    }

    @Override
    public String leader() {
        return leader;
    }

    /** Keeps the lock (checking its session lives), or tries to take it; then reads who leads. */
    synchronized void tick() {
        try {
            if (held != null && !held.isValid(2)) {
                LOG.warn("Appliance {} lost its leading session; no longer leading", appliance());
                release();
            }
            if (held == null) {
                Connection c = database.connection();
                boolean got;
                try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                    lock.setLong(1, LOCK_KEY);
                    try (ResultSet rs = lock.executeQuery()) {
                        got = rs.next() && rs.getBoolean(1);
                    }
                }
                if (got) {
                    held = c;
                    write(true);
                    LOG.info("Appliance {} leads the farm's periodic work", appliance());
                } else {
                    c.close();
                }
            } else {
                write(false);
            }
            leads = held != null;
            leader = readLeader();
        } catch (SQLException | RuntimeException e) {
            LOG.warn("Leadership check failed: {}", e.getMessage());
            release();
        }
    }

    private void write(boolean taken) throws SQLException {
        Timestamp now = Timestamp.from(clock.instant());
        try (PreparedStatement update = held.prepareStatement(taken
                ? "UPDATE leader SET appliance = ?, since = ?, renewed_at = ? WHERE id = 1"
                : "UPDATE leader SET appliance = ?, renewed_at = ? WHERE id = 1")) {
            update.setString(1, appliance());
            update.setTimestamp(2, now);
            if (taken) {
                update.setTimestamp(3, now);
            }
            if (update.executeUpdate() == 0) {
                try (PreparedStatement insert = held.prepareStatement(
                        "INSERT INTO leader (id, appliance, since, renewed_at) VALUES (1, ?, ?, ?)")) {
                    insert.setString(1, appliance());
                    insert.setTimestamp(2, now);
                    insert.setTimestamp(3, now);
                    insert.executeUpdate();
                }
            }
        }
    }

    private String readLeader() throws SQLException {
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT appliance, renewed_at FROM leader WHERE id = 1");
             ResultSet rs = select.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            Instant renewed = rs.getTimestamp(2).toInstant();
            // a row the leader has not renewed within the lease names one that is gone
            return renewed.plusSeconds(leaseSeconds).isBefore(clock.instant()) ? null : rs.getString(1);
        }
    }

    private void release() {
        leads = false;
        if (held != null) {
            try (Connection c = held) {
                // a pooled connection's session outlives close(): give the lock back before the pool takes it
                if (c.isValid(2)) {
                    try (PreparedStatement unlock = c.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                        unlock.setLong(1, LOCK_KEY);
                        unlock.execute();
                    }
                }
            } catch (SQLException e) {
                LOG.debug("Closing the leading session: {}", e.getMessage());
            }
            held = null;
        }
    }
}
