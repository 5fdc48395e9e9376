package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.Offering;
import org.servicefarm.api.store.DemandCounts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests per combination and minute in the database, one row per appliance: a request is counted in memory (the
 * request path never waits for the database); every second the counts are added to this appliance's rows, and what
 * the others were asked in the last hour is read. Rows older than a day are deleted by the appliance that wrote them;
 * until then they are the history a keep-alive policy coming into force learns from.
 */
@Component(service = DemandCounts.class, immediate = true)
public class JdbcDemandCounts implements DemandCounts {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcDemandCounts.class);
    /** How many minutes back the others' counts are read. */
    static final long READ_MINUTES = 60;
    /** How many minutes a row is kept. */
    static final long KEEP_MINUTES = 24 * 60;

    private record Key(Offering offering, long minute) {
    }

    private final Database database;
    private final String appliance;
    private final RowCodec codec = new RowCodec();
    private final Map<Key, LongAdder> pending = new ConcurrentHashMap<>();
    private volatile List<Asked> others = List.of();
    /** The same by offering: minute to requests. */
    private volatile Map<Offering, java.util.NavigableMap<Long, Long>> othersByOffering = Map.of();
    static final int MAX_OFFERINGS_KEPT = 100_000;
    /** Each offering read, by its key: a row's JSON is parsed once, not once per minute (a day is 1,440 rows). */
    private final Map<String, Offering> offerings = new ConcurrentHashMap<>();
    private final ScheduledExecutorService writer;
    private long flushes;

    @Activate
    public JdbcDemandCounts(@Reference Database database) {
        this.database = database;
        this.appliance = database.applianceName();
        writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-demand");
            t.setDaemon(true);
            return t;
        });
        writer.scheduleWithFixedDelay(this::flushQuietly, 1, 1, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        writer.shutdown(); // never interrupted: an interrupt during H2's I/O closes its file
        try {
            writer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flushQuietly();
    }

    @Override
    public void add(Offering offering, long minute) {
        pending.computeIfAbsent(new Key(offering, minute), k -> new LongAdder()).increment();
    }

    @Override
    public List<Asked> others(long fromMinute) {
        List<Asked> from = new ArrayList<>();
        for (Asked asked : others) {
            if (asked.minute() >= fromMinute) {
                from.add(asked);
            }
        }
        return from;
    }

    @Override
    public long othersAsked(Offering offering, long fromMinute) {
        java.util.NavigableMap<Long, Long> minutes = othersByOffering.get(offering);
        long asked = 0;
        if (minutes != null) {
            for (long requests : minutes.tailMap(fromMinute, true).values()) {
                asked += requests;
            }
        }
        return asked;
    }

    /**
     * Writes what was counted here, then reads every appliance's rows from {@code fromMinute} on; under the flush's
     * lock, so that the others' counts read by {@link #others} afterwards are those of the same moment.
     */
    @Override
    public synchronized List<Asked> history(long fromMinute) {
        try {
            flush();
            List<Asked> read = new ArrayList<>();
            try (Connection c = database.connection();
                 PreparedStatement select = c.prepareStatement("SELECT offering_key, MIN(offering), at_minute, "
                         + "SUM(requests) FROM demand WHERE at_minute >= ? GROUP BY offering_key, at_minute "
                         + "ORDER BY at_minute, offering_key")) {
                select.setLong(1, fromMinute);
                read(select, read);
            }
            return read;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the farm's request counts: " + e.getMessage(), e);
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (SQLException | RuntimeException e) {
            LOG.warn("Writing or reading the farm's request counts failed; tried again in a second: {}",
                    e.getMessage());
        }
    }

    /** Adds what was counted here to this appliance's rows, and reads the others'. */
    synchronized void flush() throws SQLException {
        try (Connection c = database.connection()) {
            for (Key key : List.copyOf(pending.keySet())) {
                long requests = pending.remove(key).sum();
                try {
                    write(c, key, requests);
                } catch (SQLException | RuntimeException e) {
                    pending.computeIfAbsent(key, k -> new LongAdder()).add(requests); // written at the next flush
                    throw e;
                }
            }
            long now = System.currentTimeMillis() / 60_000;
            if (++flushes % 600 == 0) {
                try (PreparedStatement prune = c.prepareStatement("DELETE FROM demand WHERE appliance = ? "
                        + "AND at_minute < ?")) {
                    prune.setString(1, appliance);
                    prune.setLong(2, now - KEEP_MINUTES);
                    prune.executeUpdate();
                }
            }
            List<Asked> read = new ArrayList<>();
            try (PreparedStatement select = c.prepareStatement("SELECT offering_key, MIN(offering), at_minute, "
                    + "SUM(requests) FROM demand WHERE at_minute >= ? AND appliance <> ? "
                    + "GROUP BY offering_key, at_minute")) {
                select.setLong(1, now - READ_MINUTES);
                select.setString(2, appliance);
                read(select, read);
            }
            Map<Offering, java.util.NavigableMap<Long, Long>> byOffering = new java.util.HashMap<>();
            for (Asked asked : read) {
                byOffering.computeIfAbsent(asked.offering(), k -> new java.util.TreeMap<>())
                        .merge(asked.minute(), asked.requests(), Long::sum);
            }
            others = List.copyOf(read);
            othersByOffering = byOffering;
        }
    }

    /** Reads rows of (offering key, offering, minute, requests) into {@code into}. */
    private void read(PreparedStatement select, List<Asked> into) throws SQLException {
        try (ResultSet rs = select.executeQuery()) {
            while (rs.next()) {
                String json = rs.getString(2);
                if (offerings.size() >= MAX_OFFERINGS_KEPT) {
                    offerings.clear(); // a catalog this varied: parsed again as needed
                }
                Offering offering = offerings.computeIfAbsent(rs.getString(1), key -> codec.read(json, Offering.class));
                into.add(new Asked(offering, rs.getLong(3), rs.getLong(4)));
            }
        }
    }

    private void write(Connection c, Key key, long requests) throws SQLException {
        try (PreparedStatement update = c.prepareStatement("UPDATE demand SET requests = requests + ? "
                + "WHERE offering_key = ? AND at_minute = ? AND appliance = ?")) {
            update.setLong(1, requests);
            update.setString(2, key.offering().key());
            update.setLong(3, key.minute());
            update.setString(4, appliance);
            if (update.executeUpdate() == 1) {
                return;
            }
        }
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO demand (offering_key, at_minute, appliance, "
                + "requests, offering) VALUES (?, ?, ?, ?, ?)")) {
            insert.setString(1, key.offering().key());
            insert.setLong(2, key.minute());
            insert.setString(3, appliance);
            insert.setLong(4, requests);
            insert.setString(5, codec.write(key.offering()));
            insert.executeUpdate();
        }
    }
}
