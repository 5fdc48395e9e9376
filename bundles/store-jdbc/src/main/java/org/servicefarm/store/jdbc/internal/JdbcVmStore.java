package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM store in a database, read from memory.
 * <p>
 * Every row lives in memory as well (loaded on start), so reads never wait for the database: the warm request path
 * reads its few rows from the view, as with the in-memory store. Writes:
 * <ul>
 * <li>a new row, a move to another state and a removal are written <em>through</em>, before the caller hears of
 * them: what a client is told (a VM created, woken, archived) is on disk first, so a crash never loses it;</li>
 * <li>a change within a state (a grant's count and time, a new endpoint) is written <em>behind</em>, batched every
 * {@code writeBehindMs}: a grant of an ACTIVE VM does not wait for a round trip, and a crash loses at most that much
 * of its counters.</li>
 * </ul>
 * Each row carries a generation, one more with every write; a write is a compare-and-set on it, so a row changed by
 * another writer of the same table is never overwritten: the write fails, the row is read again and the caller's
 * compare is made on it.
 */
@Component(service = VmStore.class, configurationPid = JdbcVmStore.PID /* configured as Database.Config */, property = {"service.ranking:Integer=100", VmStore.NAME + "=jdbc"},
        immediate = true) // opens and migrates its database at boot: a store that cannot start says so at once
public class JdbcVmStore implements VmStore {
    static final String PID = "org.servicefarm.store.jdbc";
    private static final Logger LOG = LoggerFactory.getLogger(JdbcVmStore.class);
    private static final Comparator<VmRecord> OLDEST_FIRST =
            Comparator.comparing(VmRecord::createdAt).thenComparing(VmRecord::id);
    /** Row locks: a row's writes are serialised on its stripe, never on a global lock. */
    private static final int STRIPES = 256;

    /** A row as it is in memory: the record and the generation it has in the database. */
    private record Row(VmRecord vm, long generation) {
    }

    private final Map<String, Row> rows = new ConcurrentHashMap<>();
    private final Map<Offering, Map<String, VmRecord>> liveByOffering = new ConcurrentHashMap<>();
    /** Rows changed within their state and not written yet. */
    private final Set<String> dirty = ConcurrentHashMap.newKeySet();
    private final Object[] stripes = new Object[STRIPES];
    private final RowCodec codec = new RowCodec();
    private final Clock clock;

    @Reference
    Database database;

    private int historyLimit;
    private ScheduledExecutorService writer;

    public JdbcVmStore() {
        this(Clock.systemUTC());
    }

    JdbcVmStore(Clock clock) {
        this.clock = clock;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
    }

    @Activate
    void activate(Database.Config config) throws SQLException {
        historyLimit = config.historyLimit();
        long started = System.nanoTime();
        load();
        LOG.info("VM store on {}: {} rows loaded in {} ms", database.description(), rows.size(),
                (System.nanoTime() - started) / 1_000_000);
        writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-store-writer");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(10, config.writeBehindMs());
        writer.scheduleWithFixedDelay(this::flushQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        if (writer != null) {
            // never interrupt a write: an interrupt during its I/O closes H2's file channel and stops the database
            writer.shutdown();
            try {
                writer.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        flushQuietly(); // what waited behind is written before the store goes
    }

    /** Which database the store writes to, for the status page. */
    @Override
    public String description() {
        return database == null ? "not open" : database.description();
    }

    @Override
    public List<VmRecord> vms() {
        List<VmRecord> all = new ArrayList<>(rows.size());
        rows.values().forEach(r -> all.add(r.vm()));
        all.sort(OLDEST_FIRST);
        return all;
    }

    @Override
    public Optional<VmRecord> vm(String id) {
        Row row = id == null ? null : rows.get(id);
        return Optional.ofNullable(row == null ? null : row.vm());
    }

    @Override
    public List<VmRecord> offering(Offering offering) {
        Map<String, VmRecord> live = liveByOffering.get(offering);
        if (live == null) {
            return List.of();
        }
        List<VmRecord> result = new ArrayList<>(live.values());
        result.sort(OLDEST_FIRST);
        return result;
    }

    @Override
    public List<VmRecord> occupying() {
        List<VmRecord> result = new ArrayList<>();
        liveByOffering.values().forEach(live -> result.addAll(live.values()));
        return result;
    }

    @Override
    public boolean insert(VmRecord vm) {
        synchronized (stripe(vm.id())) {
            if (rows.containsKey(vm.id())) {
                return false;
            }
            try (Connection c = database.connection();
                 PreparedStatement insert = c.prepareStatement("INSERT INTO vm (id, state, host_id, offering_key, "
                         + "generation, updated_at, doc) VALUES (?, ?, ?, ?, 1, ?, ?)")) {
                insert.setString(1, vm.id());
                bindColumns(insert, 2, vm);
                insert.executeUpdate();
            } catch (SQLException e) {
                if (refresh(vm.id()).isPresent()) { // another writer of the table added it first
                    return false;
                }
                throw new StoreException("cannot add VM " + vm.id(), e);
            }
            put(new Row(vm, 1));
        }
        if (!vm.state().occupiesHost()) {
            pruneHistory();
        }
        return true;
    }

    @Override
    public Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change) {
        Change done;
        synchronized (stripe(id)) {
            done = transitionLocked(id, expected, next, change, true);
        }
        if (done != null && done.before().state().occupiesHost() && !done.after().state().occupiesHost()) {
            pruneHistory();
        }
        return Optional.ofNullable(done);
    }

    private Change transitionLocked(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change,
                                    boolean retry) {
        Row row = rows.get(id);
        if (row == null || row.vm().state() != expected) {
            return null;
        }
        VmRecord changed = change.apply(row.vm());
        if (changed == null) {
            return null;
        }
        VmRecord after = changed.state() == next ? changed : changed.withState(next, changed.detail());
        if (expected == next) {
            put(new Row(after, row.generation())); // within a state: written behind
            dirty.add(id);
            return new Change(row.vm(), after);
        }
        if (write(row, after)) {
            dirty.remove(id); // the row as written includes what waited behind
            return new Change(row.vm(), after);
        }
        // another writer changed the row: compare again on the row as it is now
        Optional<Row> fresh = refresh(id);
        return retry && fresh.isPresent() ? transitionLocked(id, expected, next, change, false) : null;
    }

    @Override
    public Optional<VmRecord> remove(String id, VmState expected) {
        synchronized (stripe(id)) {
            Row row = rows.get(id);
            if (row == null || row.vm().state() != expected) {
                return Optional.empty();
            }
            try (Connection c = database.connection();
                 PreparedStatement delete = c.prepareStatement("DELETE FROM vm WHERE id = ? AND generation = ?")) {
                delete.setString(1, id);
                delete.setLong(2, row.generation());
                if (delete.executeUpdate() == 0) {
                    refresh(id);
                    return Optional.empty();
                }
            } catch (SQLException e) {
                throw new StoreException("cannot remove VM " + id, e);
            }
            rows.remove(id);
            dirty.remove(id);
            unindex(row.vm());
            return Optional.of(row.vm());
        }
    }

    /** Writes every row changed within its state; a row another writer changed meanwhile is read again instead. */
    void flush() {
        for (String id : List.copyOf(dirty)) {
            synchronized (stripe(id)) {
                Row row = rows.get(id);
                if (!dirty.remove(id) || row == null) {
                    continue;
                }
                if (!write(row, row.vm())) {
                    LOG.warn("VM {} was changed by another writer; its unwritten use (grants, last use) is dropped "
                            + "for the stored row", id);
                    refresh(id);
                }
            }
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warn("Writing changed VM rows failed; retried at the next flush: {}", e.getMessage());
        }
    }

    /** Writes {@code after} over {@code row} if the database still holds row's generation; false if it does not. */
    private boolean write(Row row, VmRecord after) {
        String id = row.vm().id();
        try (Connection c = database.connection();
             PreparedStatement update = c.prepareStatement("UPDATE vm SET state = ?, host_id = ?, offering_key = ?, "
                     + "updated_at = ?, doc = ?, generation = generation + 1 WHERE id = ? AND generation = ?")) {
            bindColumns(update, 1, after);
            update.setString(6, id);
            update.setLong(7, row.generation());
            if (update.executeUpdate() == 0) {
                return false;
            }
        } catch (SQLException e) {
            dirty.add(id);
            throw new StoreException("cannot write VM " + id, e);
        }
        put(new Row(after, row.generation() + 1));
        return true;
    }

    /** state, host_id, offering_key, updated_at, doc from {@code index} on. */
    private void bindColumns(PreparedStatement statement, int index, VmRecord vm) throws SQLException {
        statement.setString(index, vm.state().name());
        statement.setString(index + 1, vm.hostId());
        statement.setString(index + 2, vm.offering().key());
        statement.setTimestamp(index + 3, Timestamp.from(clock.instant()));
        statement.setString(index + 4, codec.write(vm));
    }

    /** Reads one row again from the database into the view; empty (and gone from the view) if it is not there. */
    private Optional<Row> refresh(String id) {
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc, generation FROM vm WHERE id = ?")) {
            select.setString(1, id);
            try (ResultSet rs = select.executeQuery()) {
                if (rs.next()) {
                    Row row = new Row(codec.read(rs.getString(1), VmRecord.class), rs.getLong(2));
                    put(row);
                    return Optional.of(row);
                }
            }
        } catch (SQLException e) {
            throw new StoreException("cannot read VM " + id, e);
        }
        Row gone = rows.remove(id);
        if (gone != null) {
            unindex(gone.vm());
        }
        return Optional.empty();
    }

    private void load() throws SQLException {
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc, generation FROM vm");
             ResultSet rs = select.executeQuery()) {
            select.setFetchSize(1000);
            while (rs.next()) {
                put(new Row(codec.read(rs.getString(1), VmRecord.class), rs.getLong(2)));
            }
        }
    }

    private void put(Row row) {
        Row old = rows.put(row.vm().id(), row);
        if (old != null && !old.vm().offering().equals(row.vm().offering())) {
            unindex(old.vm());
        }
        if (row.vm().state().occupiesHost()) {
            // put inside compute: a concurrent removal of another row's last entry must not drop the map under us
            liveByOffering.compute(row.vm().offering(), (k, live) -> {
                Map<String, VmRecord> ofOffering = live == null ? new ConcurrentHashMap<>() : live;
                ofOffering.put(row.vm().id(), row.vm());
                return ofOffering;
            });
        } else {
            unindex(row.vm());
        }
    }

    private void unindex(VmRecord vm) {
        liveByOffering.computeIfPresent(vm.offering(), (k, live) -> {
            live.remove(vm.id());
            return live.isEmpty() ? null : live;
        });
    }

    private void pruneHistory() {
        List<VmRecord> gone = rows.values().stream().map(Row::vm).filter(vm -> !vm.state().occupiesHost())
                .sorted(OLDEST_FIRST).toList();
        for (int i = 0; i < gone.size() - historyLimit; i++) {
            remove(gone.get(i).id(), gone.get(i).state());
        }
    }

    private Object stripe(String id) {
        return stripes[Math.floorMod(id.hashCode(), STRIPES)];
    }

    /** The database refused or could not be reached: the change was not made. */
    static final class StoreException extends IllegalStateException {
        StoreException(String message, SQLException cause) {
            super(message + ": " + cause.getMessage(), cause);
        }
    }
}
