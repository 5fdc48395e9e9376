package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.store.LiveIndex;
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
 * <p>
 * Several appliances may share the database. Each reads what the others changed every {@code pollMs} (rows written
 * since, by the database's clock, with an overlap; a row is taken only if its generation is newer than the view's)
 * and tells its {@link Observer}. A new VM's row and a restore claim room on their host in one transaction that sums
 * the rows holding it and bumps the host's claim generation (compare-and-set, retried on conflict), and a creation
 * also claims its offering, so no host is over-committed and a cold combination is created once across appliances.
 * Each appliance says it is alive every poll; the one that made a row's last move carries its transitional state on
 * until it has not said so for {@code applianceLeaseMs}.
 */
@Component(service = VmStore.class, configurationPid = JdbcVmStore.PID /* configured as Database.Config */, property = {"service.ranking:Integer=100", VmStore.NAME + "=jdbc"},
        immediate = true) // opens and migrates its database at boot: a store that cannot start says so at once
public class JdbcVmStore implements VmStore {
    static final String PID = "org.servicefarm.store.jdbc";
    private static final Logger LOG = LoggerFactory.getLogger(JdbcVmStore.class);
    /** Row locks: a row's writes are serialised on its stripe, never on a global lock. */
    private static final int STRIPES = 256;

    /** How often a claim is tried again when another appliance claimed the same host or offering meanwhile. */
    private static final int CLAIM_ATTEMPTS = 8;
    /** How far back each poll reads again: a write's time is its transaction's start, committed a little later. */
    private static final long POLL_OVERLAP_MS = 5000;
    /** How often the rows removed by another appliance are looked for, in polls. */
    private static final int REMOVALS_EVERY = 60;

    /**
     * A row as it is in memory: the record, the generation it has in the database, the record as the database has it
     * at that generation (what a merge of unwritten use is counted from), and who made its last move.
     */
    private record Row(VmRecord vm, long generation, VmRecord stored, String worker) {
        Row(VmRecord vm, long generation, String worker) {
            this(vm, generation, vm, worker);
        }

        /** This row changed in memory only, to be written behind. */
        Row with(VmRecord changed) {
            return new Row(changed, generation, stored, worker);
        }
    }

    private final Map<String, Row> rows = new ConcurrentHashMap<>();
    private final LiveIndex live = new LiveIndex();
    /** Rows changed within their state and not written yet. */
    private final Set<String> dirty = ConcurrentHashMap.newKeySet();
    private final Object[] stripes = new Object[STRIPES];
    private final RowCodec codec = new RowCodec();

    @Reference
    Database database;

    private int historyLimit;
    private long leaseMs;
    private String appliance;
    private ScheduledExecutorService writer;
    /** Serialises polls with (un)registering the observer, so it misses no change and counts none twice. */
    private final Object pollLock = new Object();
    private volatile Observer observer;
    /** Where the next poll reads from (the database's time), and how many polls ran. */
    private Timestamp pollFrom;
    private long polls;
    /** How long ago (ms) each appliance last said it is alive, as of the last poll. */
    private volatile Map<String, Long> heartbeatAges = Map.of();
    private final Set<String> claimRows = ConcurrentHashMap.newKeySet();

    public JdbcVmStore() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
    }

    /** How many gone rows are kept, how long a silent appliance lives, how often rows are written and read. */
    private record Timing(int historyLimit, long leaseMs, long writeBehindMs, long pollMs) {
    }

    private final ConfiguredSettings<Database.Config, Timing> timing = new ConfiguredSettings<>(PID,
            Database.Config.class, c -> new Timing(c.historyLimit(), c.applianceLeaseMs(), Math.max(10,
                    c.writeBehindMs()), Math.max(50, c.pollMs())));

    @Activate
    void activate(Database.Config config, ComponentContext context) throws SQLException {
        Timing every = timing.accept(context, config);
        historyLimit = every.historyLimit();
        leaseMs = every.leaseMs();
        appliance = database.applianceName();
        long started = System.nanoTime();
        pollFrom = databaseTime();
        load();
        heartbeat();
        LOG.info("VM store on {}: {} rows loaded in {} ms", database.description(), rows.size(),
                (System.nanoTime() - started) / 1_000_000);
        writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-store-writer");
            t.setDaemon(true);
            return t;
        });
        writer.scheduleWithFixedDelay(this::flushQuietly, every.writeBehindMs(), every.writeBehindMs(),
                TimeUnit.MILLISECONDS);
        if (database.product() == Database.Product.POSTGRESQL) { // an embedded H2 file serves one appliance alone
            writer.scheduleWithFixedDelay(this::pollQuietly, every.pollMs(), every.pollMs(), TimeUnit.MILLISECONDS);
        }
    }

    @Deactivate
    void deactivate() {
        timing.close();
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
        all.sort(LiveIndex.OLDEST_FIRST);
        return all;
    }

    @Override
    public Optional<VmRecord> vm(String id) {
        Row row = id == null ? null : rows.get(id);
        return Optional.ofNullable(row == null ? null : row.vm());
    }

    @Override
    public List<VmRecord> offering(Offering offering) {
        return live.offering(offering);
    }

    @Override
    public List<VmRecord> occupying() {
        return live.occupying();
    }

    @Override
    public boolean insert(VmRecord vm) {
        return claim(vm, null) instanceof Claim.Added;
    }

    @Override
    public Claim claim(VmRecord vm, Capacity hostCapacity) {
        Claim claim;
        synchronized (stripe(vm.id())) {
            if (rows.containsKey(vm.id())) {
                return new Claim.Exists(vm.id());
            }
            claim = claimLocked(vm, hostCapacity);
        }
        if (claim instanceof Claim.NoRoom || claim instanceof Claim.BeingCreated) {
            pollQuietly(); // what the other appliances hold is in view before the caller places again
        }
        if (claim instanceof Claim.Added && !vm.state().occupiesHost()) {
            pruneHistory();
        }
        return claim;
    }

    private Claim claimLocked(VmRecord vm, Capacity hostCapacity) {
        boolean room = hostCapacity != null && vm.holdsHost();
        boolean creating = hostCapacity != null && vm.state() == VmState.CREATING;
        Claim claim;
        try {
            claim = claimed(vm, room ? hostCapacity : null, creating, c -> {
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO vm (id, state, host_id, offering_key, "
                        + "doc, holds_host, vcpus, memory_mib, worker, updated_at, generation) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP, 1)")) {
                    insert.setString(1, vm.id());
                    bindColumns(insert, 2, vm, appliance);
                    return insert.executeUpdate() == 1;
                }
            });
        } catch (SQLException e) {
            if (refresh(vm.id()).isPresent()) { // another writer of the table added it first
                return new Claim.Exists(vm.id());
            }
            throw new StoreException("cannot add VM " + vm.id(), e);
        }
        if (claim instanceof Claim.Added) {
            put(new Row(vm, 1, appliance));
        }
        return claim;
    }

    /** A write in a claim's transaction; false to roll it back (the row changed meanwhile). */
    @FunctionalInterface
    private interface ClaimedWrite {
        boolean write(Connection c) throws SQLException;
    }

    /**
     * Runs {@code write} in one transaction with the claims it needs: with {@code hostCapacity}, room for {@code vm} on
     * its host by the rows of every appliance; with {@code creating}, that no other VM of its offering is being created.
     * Each claim takes its claim row by a compare-and-set on its generation first (so claims of one host or offering
     * follow each other), counting again when another appliance's claim came between.
     *
     * @return Added once written, NoRoom, BeingCreated, or null if {@code write} declined
     * @throws SQLException if the database still refuses after {@value #CLAIM_ATTEMPTS} attempts
     */
    private Claim claimed(VmRecord vm, Capacity hostCapacity, boolean creating, ClaimedWrite write)
            throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = database.connection()) {
                if (hostCapacity != null) {
                    ensureClaimRow(c, "host_claim", "host_id", vm.hostId());
                }
                if (creating) {
                    ensureClaimRow(c, "offering_claim", "offering_key", vm.offering().key());
                }
                c.setAutoCommit(false);
                try {
                    if (hostCapacity != null && !bumpClaim(c, "host_claim", "host_id", vm.hostId())
                            || creating && !bumpClaim(c, "offering_claim", "offering_key", vm.offering().key())) {
                        c.rollback();
                        continue; // another appliance claimed it meanwhile: count again
                    }
                    String full = hostCapacity == null ? null : full(c, vm, hostCapacity);
                    VmRecord other = full != null || !creating ? null : beingCreated(c, vm);
                    boolean written = full == null && other == null && write.write(c);
                    if (written) {
                        c.commit();
                        return new Claim.Added(vm);
                    }
                    c.rollback();
                    return full != null ? new Claim.NoRoom(full) : other != null ? new Claim.BeingCreated(other) : null;
                } catch (SQLException e) {
                    c.rollback();
                    throw e;
                } finally {
                    c.setAutoCommit(true);
                }
            } catch (SQLException e) {
                if (attempt >= CLAIM_ATTEMPTS) {
                    throw e;
                }
                // a lock or serialisation conflict with another appliance's claim: try again
            }
        }
    }

    /** Adds the claim row of a host or an offering if there is none (another appliance may add it at once). */
    private void ensureClaimRow(Connection c, String table, String key, String value) {
        if (claimRows.contains(table + ' ' + value)) {
            return;
        }
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " (" + key + ", generation) "
                + "VALUES (?, 0)")) {
            insert.setString(1, value);
            insert.executeUpdate();
        } catch (SQLException e) {
            // there already: another appliance (or an earlier run) added it
        }
        claimRows.add(table + ' ' + value);
    }

    /**
     * Takes the claim row of a host or an offering for this transaction: reads its generation and writes the next one
     * if it is still that (the row stays locked until the transaction ends). False if another transaction changed it
     * between the read and the write: the caller rolls back and counts again.
     */
    private static boolean bumpClaim(Connection c, String table, String key, String value) throws SQLException {
        long generation;
        try (PreparedStatement select = c.prepareStatement("SELECT generation FROM " + table + " WHERE " + key
                + " = ?")) {
            select.setString(1, value);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                generation = rs.getLong(1);
            }
        }
        try (PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET generation = generation + 1 "
                + "WHERE " + key + " = ? AND generation = ?")) {
            update.setString(1, value);
            update.setLong(2, generation);
            return update.executeUpdate() == 1;
        }
    }

    /** Why {@code vm} does not fit on its host by the rows of every appliance holding it, or null if it fits. */
    private static String full(Connection c, VmRecord vm, Capacity capacity) throws SQLException {
        try (PreparedStatement sum = c.prepareStatement("SELECT COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mib), 0), "
                + "COUNT(*) FROM vm WHERE host_id = ? AND holds_host = TRUE AND id <> ?")) {
            sum.setString(1, vm.hostId());
            sum.setString(2, vm.id());
            try (ResultSet rs = sum.executeQuery()) {
                rs.next();
                Capacity used = new Capacity(rs.getInt(1), rs.getLong(2), rs.getInt(3));
                Capacity demand = vm.resources();
                if (capacity.minus(used).fits(new Capacity(demand.vcpus(), demand.memoryMiB(), 1))) {
                    return null;
                }
                return "host " + vm.hostId() + " is full by the VMs of every appliance: " + used.vms() + " VMs, "
                        + used.vcpus() + " vCPUs, " + used.memoryMiB() + " MiB of " + capacity.vms() + ", "
                        + capacity.vcpus() + ", " + capacity.memoryMiB();
            }
        }
    }

    /** Another VM of {@code vm}'s offering being created, or null. */
    private VmRecord beingCreated(Connection c, VmRecord vm) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT doc FROM vm WHERE offering_key = ? AND state IN "
                + "('CREATING', 'STARTING') AND id <> ?")) {
            select.setString(1, vm.offering().key());
            select.setString(2, vm.id());
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? codec.read(rs.getString(1), VmRecord.class) : null;
            }
        }
    }

    @Override
    public Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change) {
        return transition(id, expected, next, change, null);
    }

    @Override
    public Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change,
                                       Capacity hostCapacity) {
        Change done;
        boolean[] noRoom = new boolean[1];
        synchronized (stripe(id)) {
            done = transitionLocked(id, expected, next, change, hostCapacity, noRoom, true);
        }
        if (noRoom[0]) {
            pollQuietly(); // what the other appliances hold is in view before the caller places again
        }
        if (done != null && done.before().state().occupiesHost() && !done.after().state().occupiesHost()) {
            pruneHistory();
        }
        return Optional.ofNullable(done);
    }

    private Change transitionLocked(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change,
                                    Capacity hostCapacity, boolean[] noRoom, boolean retry) {
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
            put(row.with(after)); // within a state: written behind
            dirty.add(id);
            return new Change(row.vm(), after);
        }
        boolean claim = hostCapacity != null && after.holdsHost();
        Boolean written = claim ? claimAndWrite(row, after, hostCapacity) : Boolean.valueOf(write(row, after, true));
        if (written == null) {
            noRoom[0] = true;
            return null;
        }
        if (written) {
            dirty.remove(id); // the row as written includes what waited behind
            return new Change(row.vm(), after);
        }
        // another writer changed the row: compare again on the row as it is now
        Optional<Row> fresh = refresh(id);
        return retry && fresh.isPresent() ? transitionLocked(id, expected, next, change, hostCapacity, noRoom, false)
                : null;
    }

    /**
     * Writes a move into a state holding room on {@code after}'s host, claiming that room in the same transaction.
     *
     * @return true if written, false if another writer changed the row, null if the host has no room
     */
    private Boolean claimAndWrite(Row row, VmRecord after, Capacity hostCapacity) {
        Claim claim;
        try {
            claim = claimed(after, hostCapacity, false, c -> update(c, row, after, true));
        } catch (SQLException e) {
            throw new StoreException("cannot write VM " + after.id(), e);
        }
        if (claim instanceof Claim.NoRoom) {
            return null;
        }
        if (claim == null) {
            return false;
        }
        put(new Row(after, row.generation() + 1, appliance));
        return true;
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
            live.remove(row.vm());
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
                if (!write(row, row.vm(), false)) {
                    // another appliance wrote it meanwhile (granted it too, or moved it): its use is added to theirs
                    refresh(id);
                    Row fresh = rows.get(id);
                    if (fresh != null && row.vm().grants() > row.stored().grants()) {
                        put(fresh.with(mergeUse(fresh.vm(), row.vm(), row.stored())));
                        dirty.add(id);
                    }
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

    /**
     * Writes {@code after} over {@code row} if the database still holds row's generation; false if it does not.
     *
     * @param move a move to another state: this appliance becomes the row's worker
     */
    private boolean write(Row row, VmRecord after, boolean move) {
        String id = row.vm().id();
        try (Connection c = database.connection()) {
            if (!update(c, row, after, move)) {
                return false;
            }
        } catch (SQLException e) {
            dirty.add(id);
            throw new StoreException("cannot write VM " + id, e);
        }
        put(new Row(after, row.generation() + 1, move ? appliance : row.worker()));
        return true;
    }

    private boolean update(Connection c, Row row, VmRecord after, boolean move) throws SQLException {
        try (PreparedStatement update = c.prepareStatement("UPDATE vm SET state = ?, host_id = ?, offering_key = ?, "
                + "doc = ?, holds_host = ?, vcpus = ?, memory_mib = ?, worker = COALESCE(?, worker), "
                + "updated_at = CURRENT_TIMESTAMP, generation = generation + 1 WHERE id = ? AND generation = ?")) {
            bindColumns(update, 1, after, move ? appliance : null);
            update.setString(9, row.vm().id());
            update.setLong(10, row.generation());
            return update.executeUpdate() == 1;
        }
    }

    /** state, host_id, offering_key, doc, holds_host, vcpus, memory_mib, worker from {@code index} on. */
    private void bindColumns(PreparedStatement statement, int index, VmRecord vm, String worker) throws SQLException {
        statement.setString(index, vm.state().name());
        statement.setString(index + 1, vm.hostId());
        statement.setString(index + 2, vm.offering().key());
        statement.setString(index + 3, codec.write(vm));
        statement.setBoolean(index + 4, vm.holdsHost());
        statement.setInt(index + 5, vm.resources().vcpus());
        statement.setLong(index + 6, vm.resources().memoryMiB());
        statement.setString(index + 7, worker);
    }

    /**
     * {@code fresh} (as another appliance wrote it) with the use {@code local} added since {@code stored}: the grants
     * counted here and not yet written, and the later last use.
     */
    static VmRecord mergeUse(VmRecord fresh, VmRecord local, VmRecord stored) {
        long added = local.grants() - stored.grants();
        if (added <= 0) {
            return fresh;
        }
        Instant lastUsed = fresh.lastUsedAt() == null || local.lastUsedAt() != null
                && local.lastUsedAt().isAfter(fresh.lastUsedAt()) ? local.lastUsedAt() : fresh.lastUsedAt();
        return new VmRecord(fresh.id(), fresh.hostId(), fresh.imageId(), fresh.offering(), fresh.endpoints(),
                fresh.state(), fresh.resources(), fresh.createdAt(), lastUsed, fresh.grants() + added, fresh.detail(),
                fresh.archive(), fresh.stateSince());
    }

    /** Reads one row again from the database into the view; empty (and gone from the view) if it is not there. */
    private Optional<Row> refresh(String id) {
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc, generation, worker FROM vm WHERE id = ?")) {
            select.setString(1, id);
            try (ResultSet rs = select.executeQuery()) {
                if (rs.next()) {
                    Row row = new Row(codec.read(rs.getString(1), VmRecord.class), rs.getLong(2), rs.getString(3));
                    changedElsewhere(rows.get(id), row);
                    return Optional.of(row);
                }
            }
        } catch (SQLException e) {
            throw new StoreException("cannot read VM " + id, e);
        }
        changedElsewhere(rows.get(id), null);
        return Optional.empty();
    }

    /** Puts a row as another writer left it into the view (or removes it) and tells the observer. */
    private void changedElsewhere(Row before, Row after) {
        if (after != null) {
            put(after);
        } else if (before != null) {
            rows.remove(before.vm().id());
            dirty.remove(before.vm().id());
            live.remove(before.vm());
        }
        Observer o = observer;
        if (o != null && (before != null || after != null)) {
            try {
                o.changedElsewhere(before == null ? null : before.vm(), after == null ? null : after.vm());
            } catch (RuntimeException e) {
                LOG.warn("The observer of the VM store failed on a change of VM {}",
                        (after != null ? after : before).vm().id(), e);
            }
        }
    }

    @Override
    public List<VmRecord> observe(Observer observer) {
        synchronized (pollLock) {
            this.observer = observer;
            return occupying();
        }
    }

    @Override
    public Worker worker(VmRecord vm) {
        Row row = rows.get(vm.id());
        String worker = row == null ? null : row.worker();
        if (worker == null || worker.equals(appliance)) {
            return Worker.THIS;
        }
        Long age = heartbeatAges.get(worker);
        return age != null && age <= leaseMs ? Worker.ELSEWHERE : Worker.GONE;
    }

    /**
     * Reads what other appliances changed since the last poll into the view, tells the observer, says this appliance is
     * alive and learns how long ago the others did; now and then, drops the rows another appliance removed.
     */
    void poll() throws SQLException {
        synchronized (pollLock) {
            Timestamp from = new Timestamp(pollFrom.getTime() - POLL_OVERLAP_MS);
            Timestamp now = databaseTime();
            try (Connection c = database.connection();
                 PreparedStatement select = c.prepareStatement("SELECT id, generation, doc, worker FROM vm "
                         + "WHERE updated_at >= ?")) {
                select.setTimestamp(1, from);
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        long generation = rs.getLong(2);
                        Row known = rows.get(id);
                        if (known != null && known.generation() >= generation) {
                            continue; // this appliance wrote it, or has it already
                        }
                        synchronized (stripe(id)) {
                            known = rows.get(id);
                            if (known == null || known.generation() < generation) {
                                Row fresh = new Row(codec.read(rs.getString(3), VmRecord.class), generation,
                                        rs.getString(4));
                                if (known != null && dirty.contains(id)) { // use counted here and not yet written
                                    fresh = fresh.with(mergeUse(fresh.vm(), known.vm(), known.stored()));
                                }
                                changedElsewhere(known, fresh);
                            }
                        }
                    }
                }
            }
            pollFrom = now;
            heartbeat();
            if (++polls % REMOVALS_EVERY == 0) {
                dropRemoved();
            }
        }
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (SQLException | RuntimeException e) {
            LOG.warn("Reading the rows other appliances changed failed; tried again at the next poll: {}",
                    e.getMessage());
        }
    }

    /** Says this appliance is alive, and reads how long ago every appliance did (by the database's clock). */
    private void heartbeat() throws SQLException {
        try (Connection c = database.connection()) {
            try (PreparedStatement update = c.prepareStatement("UPDATE appliance SET heartbeat_at = CURRENT_TIMESTAMP "
                    + "WHERE name = ?")) {
                update.setString(1, appliance);
                if (update.executeUpdate() == 0) {
                    try (PreparedStatement insert = c.prepareStatement("INSERT INTO appliance (name, heartbeat_at) "
                            + "VALUES (?, CURRENT_TIMESTAMP)")) {
                        insert.setString(1, appliance);
                        insert.executeUpdate();
                    }
                }
            }
            Map<String, Long> ages = new java.util.HashMap<>();
            try (PreparedStatement select = c.prepareStatement("SELECT name, heartbeat_at, CURRENT_TIMESTAMP "
                    + "FROM appliance");
                 ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    ages.put(rs.getString(1), rs.getTimestamp(3).getTime() - rs.getTimestamp(2).getTime());
                }
            }
            heartbeatAges = Map.copyOf(ages);
        }
    }

    /** Drops from the view the rows another appliance deleted. */
    void dropRemoved() throws SQLException {
        List<Row> viewed = List.copyOf(rows.values()); // before the read: a row added later is not judged by it
        Set<String> stored = new java.util.HashSet<>();
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT id FROM vm");
             ResultSet rs = select.executeQuery()) {
            while (rs.next()) {
                stored.add(rs.getString(1));
            }
        }
        for (Row row : viewed) {
            String id = row.vm().id();
            if (!stored.contains(id)) {
                synchronized (stripe(id)) {
                    Row now = rows.get(id);
                    if (now != null && now.generation() == row.generation()) {
                        changedElsewhere(now, null);
                    }
                }
            }
        }
    }

    private Timestamp databaseTime() throws SQLException {
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT CURRENT_TIMESTAMP");
             ResultSet rs = select.executeQuery()) {
            rs.next();
            return rs.getTimestamp(1);
        }
    }

    private void load() throws SQLException {
        List<Row> unclaimed = new ArrayList<>();
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc, generation, worker, vcpus FROM vm");
             ResultSet rs = select.executeQuery()) {
            select.setFetchSize(1000);
            while (rs.next()) {
                Row row = new Row(codec.read(rs.getString(1), VmRecord.class), rs.getLong(2), rs.getString(3));
                put(row);
                if (rs.getInt(4) == 0 && row.vm().holdsHost()) {
                    unclaimed.add(row);
                }
            }
        }
        for (Row row : unclaimed) { // written before the columns a claim sums existed: written again with them
            synchronized (stripe(row.vm().id())) {
                Row now = rows.get(row.vm().id());
                if (now != null && !write(now, now.vm(), false)) {
                    refresh(row.vm().id());
                }
            }
        }
    }

    private void put(Row row) {
        Row old = rows.put(row.vm().id(), row);
        live.update(old == null ? null : old.vm(), row.vm());
    }

    private void pruneHistory() {
        List<VmRecord> gone = rows.values().stream().map(Row::vm).filter(vm -> !vm.state().occupiesHost())
                .sorted(LiveIndex.OLDEST_FIRST).toList();
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
