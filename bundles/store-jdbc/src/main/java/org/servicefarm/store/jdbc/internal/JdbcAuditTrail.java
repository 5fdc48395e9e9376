package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.audit.AuditEntry;
import org.servicefarm.api.audit.AuditTrail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail in the store's database. {@link #record} puts the entry in a bounded queue and returns; one thread
 * writes what is queued in batches (one round trip for many entries), so a request never waits for the trail. If the
 * database is away longer than the queue lasts, entries are dropped, counted, and the count is itself recorded once
 * the trail can write again: the trail says where it has a gap.
 */
@Component(service = AuditTrail.class, immediate = true)
public class JdbcAuditTrail implements AuditTrail {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcAuditTrail.class);
    static final int QUEUE = 100_000;
    private static final int BATCH = 1000;
    /** Column widths of the audit table (V1__farm_state.sql). */
    private static final int ACTOR = 128;
    private static final int ACTION = 64;
    private static final int SUBJECT = 1024;
    private static final int OUTCOME = 64;
    private static final int REASON = 4000;

    private record Pending(Instant at, String actor, String action, String subject, String outcome, String reason) {
    }

    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final Object writing = new Object();
    private final Database database;
    private final Clock clock;
    private final ScheduledExecutorService writer;

    @Activate
    public JdbcAuditTrail(@Reference Database database) {
        this(database, Clock.systemUTC());
    }

    JdbcAuditTrail(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
        this.writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-audit-writer");
            t.setDaemon(true);
            return t;
        });
        // every 100 ms, what gathered goes in one round trip; entries are only ever taken from the queue under the
        // write lock, so they are written in the order they were recorded
        writer.scheduleWithFixedDelay(this::flushQuietly, 100, 100, TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        // never interrupt a write: an interrupt during its I/O closes H2's file channel and stops the database
        writer.shutdown();
        try {
            writer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush(); // what was queued is written before the trail goes
    }

    /**
     * Warm grants (a request answered at once by an ACTIVE VM: it changes nothing but a counter) are the bulk of the
     * traffic: recorded one by one they would cost the warm path a row each. They are counted per login, offering and
     * VM, and each count becomes one entry at the next flush ("GRANTED ACTIVE ×N").
     */
    private final java.util.concurrent.ConcurrentHashMap<Repeated, Long> warm =
            new java.util.concurrent.ConcurrentHashMap<>();

    private record Repeated(String actor, String action, String subject, String outcome, String reason) {
    }

    @Override
    public void record(String actor, String action, String subject, String outcome, String reason) {
        if ("request".equals(action) && "GRANTED ACTIVE".equals(outcome)) {
            // merge and remove are atomic per key: no count is lost between a grant and a flush
            warm.merge(new Repeated(actor, action, subject, outcome, reason), 1L, Long::sum);
            return;
        }
        Pending entry = new Pending(clock.instant(), cut(actor == null ? "?" : actor, ACTOR),
                cut(action == null ? "?" : action, ACTION), cut(subject, SUBJECT), cut(outcome, OUTCOME),
                cut(reason, REASON));
        if (!queue.offer(entry)) {
            dropped.incrementAndGet();
        }
    }

    @Override
    public List<AuditEntry> entries(Instant since, long afterId, int limit) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new IllegalArgumentException("limit must be from 1 to " + MAX_PAGE + ", not " + limit);
        }
        if (afterId < 0) {
            throw new IllegalArgumentException("after must be 0 or more, not " + afterId);
        }
        flush(); // read your own writes: what this appliance recorded before the call is in the answer
        String sql = "SELECT id, at, appliance, actor, action, subject, outcome, reason FROM audit WHERE id > ?"
                + (since != null ? " AND at >= ?" : "") + " ORDER BY id LIMIT ?";
        try (Connection c = database.connection(); PreparedStatement select = c.prepareStatement(sql)) {
            int i = 1;
            select.setLong(i++, afterId);
            if (since != null) {
                select.setTimestamp(i++, Timestamp.from(since));
            }
            select.setInt(i, limit);
            List<AuditEntry> entries = new ArrayList<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    entries.add(new AuditEntry(rs.getLong(1), rs.getTimestamp(2).toInstant(), rs.getString(3),
                            rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8)));
                }
            }
            return entries;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the audit trail: " + e.getMessage(), e);
        }
    }

    @Override
    public String description() {
        return database.description();
    }

    private void flushQuietly() {
        if (queue.isEmpty() && dropped.get() == 0 && warm.isEmpty()) {
            return;
        }
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warn("Writing the audit trail failed; retried in a moment: {}", e.getMessage());
        }
    }

    /** Writes everything queued now. */
    void flush() {
        synchronized (writing) {
            List<Pending> batch = new ArrayList<>();
            long gap = dropped.getAndSet(0);
            if (gap > 0) {
                batch.add(new Pending(clock.instant(), APPLIANCE, "audit-gap", null, "dropped",
                        gap + " entries were dropped while the audit trail could not be written"));
            }
            queue.drainTo(batch);
            // after what was queued: counted up to now
            Instant now = clock.instant();
            for (Repeated r : List.copyOf(warm.keySet())) {
                Long count = warm.remove(r);
                long n = count == null ? 0 : count;
                if (n > 0) {
                    batch.add(new Pending(now, cut(r.actor() == null ? "?" : r.actor(), ACTOR), r.action(),
                            cut(r.subject(), SUBJECT), n == 1 ? r.outcome() : r.outcome() + " x" + n,
                            cut(r.reason(), REASON)));
                }
            }
            for (int from = 0; from < batch.size(); from += BATCH) {
                List<Pending> part = batch.subList(from, Math.min(batch.size(), from + BATCH));
                try {
                    insert(part);
                } catch (SQLException e) {
                    dropped.addAndGet(batch.size() - from);
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }
        }
    }

    private void insert(List<Pending> entries) throws SQLException {
        try (Connection c = database.connection();
             PreparedStatement insert = c.prepareStatement("INSERT INTO audit (at, appliance, actor, action, "
                     + "subject, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            for (Pending p : entries) {
                insert.setTimestamp(1, Timestamp.from(p.at()));
                insert.setString(2, database.applianceName());
                insert.setString(3, p.actor());
                insert.setString(4, p.action());
                insert.setString(5, p.subject());
                insert.setString(6, p.outcome());
                insert.setString(7, p.reason());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    private static String cut(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }
}
