package org.servicefarm.core.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.GuestKind;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.image.ImageRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The farm's hosts: joins host configurations with the drivers that manage them, keeps one
 * connection per host, and keeps the state table true to what the hypervisors report (events,
 * and a reconcile on every connect). Drivers and hosts may come and go at any time. A connection lost (its hypervisor
 * restarted, the network to it was cut) is made again, and a host that cannot be connected is tried again, at
 * growing intervals ({@link #watchConnections}).
 * <p>
 * Host names are unique regardless of case. A host is connected only once its driver accepted it
 * ({@link HypervisorDriver#validate}); a registration at run time is checked before it is persisted.
 * Whatever a driver says about a host (a refusal, a connection error) is shown and logged only as a
 * bounded excerpt with control characters escaped ({@link #safe}).
 */
@Component(service = HostRegistry.class)
public class HostRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(HostRegistry.class);
    /** How long a registration waits for the host's first connect before it answers with the host as it is. */
    Duration registrationWait = Duration.ofSeconds(10);
    /**
     * How long a driver's connect may take before the host is said not to answer and tried again later: a remote host
     * that accepts TCP and never answers (a hung sshd) holds libvirt's connect for ever.
     */
    Duration connectWait = Duration.ofSeconds(30);
    /**
     * The most hosts whose work runs at once; the others' waits its turn (a farm of thousands of hosts reconciled every
     * minute does not start a thread per host). A connect that hangs is given up on after {@link #connectWait}, so it
     * takes this many hosts hanging at once to delay the others.
     */
    static final int LANE_THREADS = 16;
    /** How much of a driver's message a host's detail and the log repeat. */
    static final int DETAIL_LENGTH = 300;
    /** How often each connection is asked whether it is alive ({@link HostConnection#alive}: no call to the host). */
    static final Duration WATCH_PERIOD = Duration.ofSeconds(5);
    /** The wait before the first new try at a host that could not be connected; it doubles with each failure. */
    static final Duration FIRST_RETRY = Duration.ofSeconds(5);
    /** The longest wait between tries: a host down for long is tried every 5 minutes, and logged as often. */
    static final Duration LONGEST_RETRY = Duration.ofMinutes(5);

    /** When a host that could not be connected is tried again, and the delay that led there. */
    record Retry(long atNanos, Duration delay) {
        static Retry after(Retry last, long nowNanos) {
            Duration delay = last == null ? FIRST_RETRY : min(last.delay.multipliedBy(2), LONGEST_RETRY);
            return new Retry(nowNanos + delay.toNanos(), delay);
        }

        private static Duration min(Duration a, Duration b) {
            return a.compareTo(b) <= 0 ? a : b;
        }

        /**
         * Due at the watch round nearest its time: rounds come every {@link #WATCH_PERIOD}, and a try set a moment
         * after one round (the connection failed during it) would otherwise wait for the round after the one it is
         * meant for: 10 s for the first 5 s wait, measured with a pool whose xapi restarted.
         */
        boolean due(long nowNanos) {
            return nowNanos - atNanos >= -WATCH_PERIOD.toNanos() / 2;
        }
    }

    /** A configured host and, while its driver is present and answered, its connection. */
    private static final class Entry {
        final HostRecord record;
        volatile HostConnection connection;
        volatile String detail = "connecting";
        /** What its connection said ({@link HostConnection#needsArtifacts}); kept while it is disconnected, null before. */
        volatile Boolean needsArtifacts;
        /** Set while the host is not connected because connecting failed: when to try again. Its lane's alone. */
        Retry retry;
        /** The check of its connection queued on its lane and not run yet, if any: checks never pile up behind it. */
        volatile CompletableFuture<Void> pendingCheck;
        /** Whether a reconcile is queued on its lane and not run yet. */
        final java.util.concurrent.atomic.AtomicBoolean reconcileQueued = new java.util.concurrent.atomic.AtomicBoolean();
        /** Since when (nanoTime) the host has had no connection; null while connected. */
        volatile Long unreachableSince;

        Entry(HostRecord record) {
            this.record = record;
        }
    }

    /** By {@link #key} of the host name: one entry per name regardless of case. */
    private final Map<String, Entry> hosts = new ConcurrentHashMap<>();
    private final Map<String, HypervisorDriver> drivers = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> awaitedHosts = new ConcurrentHashMap<>();
    private final CountDownLatch activated = new CountDownLatch(1);
    /**
     * Each host's lane, by {@link #key} of its name: its connects, closes, reconciles and cleanups run one at a time, in
     * order, so they never race; the lanes of different hosts run side by side, so a host whose connect hangs (a remote
     * host that does not answer: minutes, until TCP gives up) holds up no other host. A lane outlives its host's entry:
     * a configuration updated closes the old connection before the new one is made.
     */
    private final Lanes lanes = new Lanes("servicefarm-host-", LANE_THREADS);
    /** Runs drivers' connects, so that a lane waits at most {@link #connectWait} for one. */
    private final java.util.concurrent.ExecutorService connects = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "servicefarm-host-connect");
        t.setDaemon(true);
        return t;
    });
    /**
     * The connects that outlived {@link #connectWait}, by {@link #key} of the host name: no other is started for the
     * host until it ends (a host that never answers holds one thread, not one more at every retry), and the connection
     * it makes, if any, is closed.
     */
    private final Map<String, CompletableFuture<HostConnection>> lateConnects = new ConcurrentHashMap<>();
    /** Asks every host's lane to check its connection, every {@link #WATCH_PERIOD}. */
    private final ScheduledExecutorService watcher = Daemons.scheduler("servicefarm-host-watcher");

    /** The clock of connection retries; a test's own. */
    LongSupplier nanoTime = System::nanoTime;

    /**
     * Told of a guest that failed while the farm was bringing its VM up (a boot, a resume, a restore): the table
     * leaves such a VM to the move under way, and that move's own code ends it at once instead of waiting out its
     * probe. The service manager sets it while it is active.
     */
    volatile Consumer<VmEvent> failedWhileComingUp = event -> { };

    @Reference
    StateTable stateTable;

    /** Where each host's status lives: this registry publishes connections and driver failures there. */
    @Reference
    HostIndex index;
    /** Told a host's name when a staging there fails ({@link #onStagingFailure}). */
    private volatile java.util.function.Consumer<String> stagingFailed = host -> { };

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configurationAdmin;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addHost(HostConfiguration configuration) {
        HostRecord record = configuration.record();
        Entry entry = new Entry(record);
        entry.unreachableSince = nanoTime.getAsLong();
        Entry existing = hosts.putIfAbsent(key(record.name()), entry);
        if (existing != null) {
            LOG.error("Host {} is configured twice (host names are unique regardless of case: {} exists); "
                    + "the second configuration is ignored", record.name(), existing.record.name());
            return;
        }
        later(record.name(), () -> {
            index.configure(record);
            detail(entry, entry.detail); // known at once, as connecting, however long its driver takes
            connect(entry);
        });
    }

    void removeHost(HostConfiguration configuration) {
        HostRecord record = configuration.record();
        Entry entry = hosts.get(key(record.name()));
        if (entry != null && entry.record.equals(record) && hosts.remove(key(record.name()), entry)) {
            later(record.name(), () -> {
                index.remove(record.name());
                // an update or a driver swap reconnects (the next connection takes over what runs); a host whose
                // configuration is gone has left the farm: its driver stops what it kept for future VMs
                disconnect(entry, "host removed", configurationGone(record.name()));
            });
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addDriver(HypervisorDriver driver, Map<String, Object> properties) {
        String name = String.valueOf(properties.get(HypervisorDriver.NAME));
        drivers.put(name, driver);
        hosts.values().stream().filter(e -> e.record.driver().equals(name)).forEach(e -> later(e.record.name(), () -> {
            if (e.connection == null) {
                connect(e);
            }
        }));
    }

    void removeDriver(HypervisorDriver driver, Map<String, Object> properties) {
        String name = String.valueOf(properties.get(HypervisorDriver.NAME));
        if (drivers.remove(name, driver)) {
            hosts.values().stream().filter(e -> e.record.driver().equals(name)).forEach(e -> later(e.record.name(),
                    () -> disconnect(e, "driver " + name + " is not installed")));
        }
    }

    @Activate
    void activate() {
        activated.countDown();
        watcher.scheduleWithFixedDelay(() -> watchConnections(nanoTime.getAsLong()), WATCH_PERIOD.toMillis(),
                WATCH_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Runs a task on the lane of {@code host} once this registry is active. DS calls the bind methods of the host and
     * driver references before it sets the static references (index, stateTable) the tasks use, so a lane holds its
     * tasks, in order, until activation.
     *
     * @return false if the registry is stopped and the task will not run
     */
    private boolean later(String host, Runnable task) {
        try {
            lanes.execute(key(host), host, () -> {
                try {
                    activated.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                task.run();
            });
            return true;
        } catch (RejectedExecutionException e) {
            // deactivated: DS unbinds the hosts after the lanes stopped, and every connection is closed already
            return false;
        }
    }

    @Deactivate
    void deactivate() {
        watcher.shutdownNow();
        lanes.shutdown();
        connects.shutdownNow();
        hosts.values().forEach(e -> disconnect(e, "stopped"));
    }

    private void connect(Entry entry) {
        HostRecord record = entry.record;
        Retry failedBefore = entry.retry;
        entry.retry = null;
        try {
            HypervisorDriver driver = drivers.get(record.driver());
            if (driver == null) {
                detail(entry, "driver " + record.driver() + " is not installed");
                return;
            }
            if (hosts.get(key(record.name())) != entry || entry.connection != null) {
                return;
            }
            try {
                driver.validate(record);
            } catch (InvalidRequestException e) {
                detail(entry, "refused by driver " + record.driver() + ": " + safe(e.getMessage()));
                LOG.warn("Host {} is not connected: driver {} refuses it: {}", record.name(), record.driver(),
                        safe(e.getMessage()));
                return;
            }
            HostConnection connection = connectWithin(driver, record);
            try {
                // before the host is usable: nothing is placed there while its table rows are being made true
                reconcile(record.name(), connection);
            } catch (HypervisorException | RuntimeException e) {
                connection.close();
                throw e;
            }
            entry.needsArtifacts = connection.needsArtifacts();
            entry.connection = new WatchedConnection(connection, record.name(), index,
                    host -> stagingFailed.accept(host));
            entry.unreachableSince = null;
            detail(entry, null);
            LOG.info("Host {} connected through {}", record.name(), record.driver());
        } catch (HypervisorException | RuntimeException e) {
            entry.retry = Retry.after(failedBefore, nanoTime.getAsLong());
            String again = "; trying again in " + entry.retry.delay().toSeconds() + " s";
            detail(entry, "cannot connect: " + safe(e.getMessage()) + again);
            LOG.warn("Host {} cannot be connected: {}{}", record.name(), safe(e.getMessage()), again);
        } finally {
            Optional.ofNullable(awaitedHosts.remove(record.name())).ifPresent(f -> f.complete(null));
        }
    }

    /** The driver's connect, given up after {@link #connectWait} (the late one is closed should it ever end). */
    private HostConnection connectWithin(HypervisorDriver driver, HostRecord record) throws HypervisorException {
        String key = key(record.name());
        CompletableFuture<HostConnection> late = lateConnects.get(key);
        if (late != null) {
            throw new HypervisorException("its connect of more than " + connectWait.toSeconds() + " s ago has not "
                    + "ended (the host does not answer)");
        }
        CompletableFuture<HostConnection> attempt = new CompletableFuture<>();
        connects.execute(() -> {
            try {
                attempt.complete(driver.connect(record, this::onEvent));
            } catch (HypervisorException | RuntimeException e) {
                attempt.completeExceptionally(e);
            }
        });
        try {
            return attempt.get(connectWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            lateConnects.put(key, attempt);
            attempt.whenComplete((connection, failure) -> {
                lateConnects.remove(key, attempt);
                if (connection != null) {
                    connection.close();
                    LOG.info("Host {}: a connect given up on ended after all; its connection is closed",
                            record.name());
                }
            });
            throw new HypervisorException("no answer within " + connectWait.toSeconds() + " s");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HypervisorException refused) {
                throw refused;
            }
            throw e.getCause() instanceof RuntimeException failed ? failed : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted while connecting");
        }
    }

    /**
     * Every {@link #WATCH_PERIOD}, on each host's lane: a connection its driver no longer finds alive is closed and
     * made again at once (the reconcile of the connect takes in what changed meanwhile), and a host whose connecting
     * failed is tried again once its wait has passed. Connecting again does not depend on leading: each appliance
     * holds connections of its own. A host whose lane is still busy (a connect that hangs) keeps the one check it
     * has queued: checks do not pile up behind it.
     *
     * @return completes when every host was checked
     */
    CompletableFuture<Void> watchConnections(long nowNanos) {
        List<CompletableFuture<Void>> checks = new ArrayList<>();
        for (Entry entry : hosts.values()) {
            CompletableFuture<Void> pending = entry.pendingCheck;
            if (pending != null && !pending.isDone()) {
                checks.add(pending);
                continue;
            }
            CompletableFuture<Void> check = new CompletableFuture<>();
            entry.pendingCheck = check;
            boolean queued = later(entry.record.name(), () -> {
                try {
                    checkConnection(entry, nowNanos);
                } finally {
                    check.complete(null);
                }
            });
            if (!queued) {
                check.complete(null);
            }
            checks.add(check);
        }
        return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new));
    }

    private void checkConnection(Entry entry, long nowNanos) {
        HostConnection connection = entry.connection;
        if (connection != null && !aliveQuietly(entry, connection)) {
            LOG.warn("Host {} lost its connection (its hypervisor restarted, or the way to it was cut): connecting "
                    + "again", entry.record.name());
            disconnect(entry, "connection lost; connecting again");
            connect(entry);
        } else if (connection == null && entry.retry != null && entry.retry.due(nowNanos)) {
            connect(entry);
        }
    }

    private static boolean aliveQuietly(Entry entry, HostConnection connection) {
        try {
            return connection.alive();
        } catch (RuntimeException e) {
            LOG.debug("Asking whether host {} is connected failed", entry.record.name(), e);
            return false;
        }
    }

    /** Whether the farm holds a connection to {@code host} now (false for a host not configured). */
    boolean connected(String host) {
        Entry entry = entry(host);
        return entry != null && entry.connection != null;
    }

    /**
     * How long the host has had no connection: since it was configured, or since its connection ended. Zero while it
     * is connected, and for a host not configured.
     */
    Duration unreachableFor(String host) {
        Entry entry = entry(host);
        Long since = entry == null ? null : entry.unreachableSince;
        return since == null ? Duration.ZERO : Duration.ofNanos(Math.max(0, nanoTime.getAsLong() - since));
    }

    /** Whether no configuration names the host any more; false when that cannot be told. */
    private boolean configurationGone(String name) {
        ConfigurationAdmin cm = configurationAdmin;
        try {
            return cm != null && configurationOf(cm, name).isEmpty();
        } catch (IOException | InvalidSyntaxException | RuntimeException e) {
            return false;
        }
    }

    private void disconnect(Entry entry, String why) {
        disconnect(entry, why, false);
    }

    /** @param leaving the host left the farm: its driver also stops what it kept running for future VMs */
    private void disconnect(Entry entry, String why, boolean leaving) {
        HostConnection connection = entry.connection;
        entry.connection = null;
        if (connection != null) {
            entry.unreachableSince = nanoTime.getAsLong();
        }
        detail(entry, why);
        if (connection != null) {
            try {
                if (leaving) {
                    connection.retire();
                } else {
                    connection.close();
                }
            } catch (RuntimeException e) {
                LOG.debug("Closing host {} failed", entry.record.name(), e);
            }
        }
    }

    /**
     * Makes the table agree with the host. Rows whose guest is gone become DESTROYED, and rows in a resting state take
     * the guest's state. A farm guest the table does not know (the appliance restarted, say) is adopted from what the
     * farm recorded on it: it gets its row back. Only a guest that cannot be accounted for is removed, and each
     * removal is logged with its reason: its record is missing or unreadable, the table has it as destroyed or
     * failed, or it is adopted as FAILED (it cannot serve, and would hold capacity no row counts).
     */
    void reconcile(String host, HostConnection connection) throws HypervisorException {
        // The rows are read before the host is asked: a move that ends while the host answers leaves its row newer
        // than the read, and the repair, which moves only a row as it was read, leaves it to the manager. Read after
        // the host answered, such a row would look drifted, and be "repaired" back to what the host said before.
        List<VmRecord> rows = stateTable.occupying().stream().filter(vm -> vm.hostId().equals(host)).toList();
        List<GuestInfo> guests = connection.guests();
        Map<String, VmState> observed = guests.stream()
                .collect(Collectors.toMap(GuestInfo::vmId, GuestInfo::state, (a, b) -> a));
        Set<String> known = new java.util.HashSet<>();
        for (VmRecord vm : rows) {
            known.add(vm.id());
            if (stateTable.orphaned(vm)) {
                recover(host, vm, observed.getOrDefault(vm.id(), VmState.DESTROYED));
                continue;
            }
            if (vm.state().transitional()) {
                continue; // the work under way ends it
            }
            VmState state = observed.getOrDefault(vm.id(), VmState.DESTROYED);
            if (state != vm.state()) {
                repair(host, vm, state);
            }
        }
        for (GuestInfo guest : guests) {
            if (known.contains(guest.vmId())) {
                continue;
            }
            Optional<VmRecord> row = stateTable.vm(guest.vmId());
            if (row.isPresent() && row.get().state().occupiesHost() && row.get().hostId().equals(host)) {
                continue; // placed here since the rows were read
            }
            if (row.isPresent() && row.get().state().occupiesHost()) {
                LOG.warn("Guest {} on host {} is in the state table on host {}; left alone", safe(guest.vmId()), host,
                        row.get().hostId());
            } else if (row.isPresent()) {
                remove(host, connection, guest, "the state table has it as " + row.get().state());
            } else if (guest instanceof GuestInfo.Recorded recorded) {
                adopt(host, connection, recorded);
            } else {
                remove(host, connection, guest, ((GuestInfo.Unrecorded) guest).reason());
            }
        }
    }

    /**
     * Makes a row agree with what its host reports, as a legal move from the row as it was read (a row the manager
     * moved meanwhile is left to it, even one moved away and back into the same state: its state-since differs); each
     * repair is logged with what drifted.
     */
    private void repair(String host, VmRecord vm, VmState observed) {
        String why = switch (observed) {
            case DESTROYED -> "its guest vanished from host " + host;
            case FAILED -> "its guest was stopped behind the farm's back on host " + host;
            default -> "host " + host + " reports it " + observed;
        };
        if (!Moves.legal(vm.state(), observed)) {
            LOG.warn("Reconcile: VM {} is {} in the table but {} ({}); no legal move, left alone", vm.id(), vm.state(),
                    observed, why);
            return;
        }
        String detail = "reconciled: " + why;
        if (stateTable.move(vm.id(), vm.state(), observed,
                row -> Objects.equals(row.stateSince(), vm.stateSince()) ? row.withState(observed, detail) : null)
                .isPresent()) {
            LOG.warn("Reconcile repaired VM {} ({}): {} -> {}: {}", vm.id(), vm.offering().key(), vm.state(), observed,
                    why);
            if (observed == VmState.FAILED) {
                later(host, () -> {
                    try {
                        connection(host).destroy(vm.id()); // it cannot serve, and would hold capacity no row counts
                    } catch (HypervisorException | RuntimeException e) {
                        LOG.warn("Cleaning up failed VM {} on {} failed: {}", vm.id(), host, safe(e.getMessage()));
                    }
                });
            }
        }
    }

    /**
     * Ends a move that a restart or a crash cut short, from what the host reports now: a creation is rolled back (its
     * request was never granted: grants come only once a VM is ACTIVE), a destruction finished, and any other move
     * ends in the resting state the guest is found in (a suspend that happened, a restore that did not); a guest that
     * is in no state the move could have left it in is failed and removed. Each repair is logged (and audited).
     */
    private void recover(String host, VmRecord vm, VmState observed) {
        VmState from = vm.state();
        VmState to;
        boolean removeGuest = false;
        switch (from) {
            case CREATING, STARTING, DESTROYING -> {
                to = VmState.DESTROYED;
                removeGuest = observed != VmState.DESTROYED;
            }
            case RESTORING -> to = observed == VmState.ACTIVE ? VmState.ACTIVE
                    : observed == VmState.DESTROYED || observed == VmState.ARCHIVED ? VmState.ARCHIVED : VmState.FAILED;
            default -> to = observed.reusable() && Moves.legal(from, observed) ? observed : VmState.FAILED;
        }
        if (to == VmState.FAILED) {
            removeGuest = observed != VmState.DESTROYED;
        }
        String why = "recovered after a restart: " + from + " was cut short; host " + host + " reports it "
                + observed + (from == VmState.CREATING || from == VmState.STARTING ? "; its creation is rolled back"
                : "");
        if (stateTable.move(vm.id(), from, to, why).isEmpty()) {
            return; // moved meanwhile
        }
        LOG.warn("Recovered VM {} ({}): {} -> {}: {}", vm.id(), vm.offering().key(), from, to, why);
        if (removeGuest) {
            later(host, () -> {
                try {
                    connection(host).destroy(vm.id());
                } catch (HypervisorException | RuntimeException e) {
                    LOG.warn("Removing the guest of recovered VM {} on {} failed: {}", vm.id(), host,
                            safe(e.getMessage()));
                }
            });
        }
    }

    /**
     * Reconciles every connected host with the table (the lifecycle calls it periodically, besides each connect): on
     * each host's lane, so it never races the host's connect or close; a host whose lane is held up keeps the one
     * reconcile it has queued.
     */
    void reconcileAll() {
        for (Entry entry : hosts.values()) {
            if (!entry.reconcileQueued.compareAndSet(false, true)) {
                continue;
            }
            boolean queued = later(entry.record.name(), () -> {
                entry.reconcileQueued.set(false);
                HostConnection connection = entry.connection;
                if (connection != null) {
                    try {
                        reconcile(entry.record.name(), connection);
                    } catch (HypervisorException | RuntimeException e) {
                        LOG.warn("Reconcile of host {} failed: {}", entry.record.name(), safe(e.getMessage()));
                    }
                }
            });
            if (!queued) {
                entry.reconcileQueued.set(false);
            }
        }
    }

    /** Takes a guest the table does not know back into it, from what the farm recorded on it. */
    private void adopt(String host, HostConnection connection, GuestInfo.Recorded guest) {
        GuestMetadata metadata = guest.metadata();
        String why = "adopted from host " + host + ": found " + guest.state() + " with the farm's record, not in the "
                + "state table";
        // an adopted archive's tier and size are the driver's to know: unknown here (the next archive says them)
        stateTable.put(new VmRecord(metadata.vmId(), host, metadata.imageId(), metadata.offering(), metadata.endpoints(),
                guest.state(), metadata.resources(), metadata.createdAt(), null, 0, why,
                guest.state() == VmState.ARCHIVED ? new org.servicefarm.api.Archive(
                        org.servicefarm.api.ArchiveTier.SAVED, -1, -1) : null, null));
        LOG.info("Adopted guest {} on host {} ({}, {}): it was not in the state table", safe(metadata.vmId()), host,
                metadata.offering().key(), guest.state());
        if (guest.state() == VmState.FAILED) {
            remove(host, connection, guest, "adopted as FAILED: it cannot serve");
        }
    }

    /** Removes a guest, logging why; a guest that cannot be removed is logged and left (the next reconcile tries again). */
    private void remove(String host, HostConnection connection, GuestInfo guest, String reason) {
        LOG.warn("Removing guest {} ({}) from host {}: {}", safe(guest.vmId()), guest.state(), host, safe(reason));
        try {
            connection.destroy(guest.vmId());
        } catch (HypervisorException | RuntimeException e) {
            LOG.warn("Guest {} on host {} could not be removed: {}", safe(guest.vmId()), host, safe(e.getMessage()));
        }
    }

    /**
     * Applies a hypervisor event, unless the manager itself is moving that VM (its own result
     * wins; a guest that failed while its VM comes up is handed to that move). A VM that failed
     * outside the farm (crashed, stopped by someone) serves nobody: its guest is destroyed so
     * that it holds no capacity the table no longer counts.
     */
    void onEvent(VmEvent event) {
        Optional<VmRecord> before = stateTable.vm(event.vmId());
        // a failed VM's guest removed (the farm removes it): its failure, and why, stays on record
        Optional<VmRecord> after = before.filter(vm -> vm.hostId().equals(event.host()) && !vm.state().transitional()
                        && vm.state() != event.observed() && Moves.legal(vm.state(), event.observed())
                        && !(vm.state() == VmState.FAILED && event.observed() == VmState.DESTROYED))
                .flatMap(vm -> stateTable.move(vm.id(), vm.state(), event.observed(), "hypervisor: " + event.detail()));
        after.ifPresent(vm -> LOG.info("VM {} on {} is now {} ({})", vm.id(), event.host(), event.observed(),
                event.detail()));
        if (event.observed() == VmState.FAILED) {
            before.filter(vm -> vm.hostId().equals(event.host()) && Moves.comingUp(vm.state()))
                    .ifPresent(vm -> failedWhileComingUp.accept(event));
        }
        boolean failedNow = after.map(vm -> vm.state() == VmState.FAILED).orElse(false);
        Entry entry = entry(event.host());
        if (failedNow && entry != null) {
            later(event.host(), () -> {
                HostConnection connection = entry.connection;
                try {
                    if (connection != null) {
                        connection.destroy(event.vmId());
                    }
                } catch (HypervisorException | RuntimeException e) {
                    LOG.warn("Cleaning up failed VM {} on {} failed: {}", event.vmId(), event.host(), safe(e.getMessage()));
                }
            });
        }
    }

    /** Sets why the host is (not) connected, and publishes its connection to the index placement reads. */
    private void detail(Entry entry, String detail) {
        entry.detail = detail;
        if (hosts.get(key(entry.record.name())) == entry) { // a removed entry no longer speaks for the host
            index.connection(entry.record.name(), entry.connection != null, detail,
                    entry.needsArtifacts == null ? null : GuestKind.of(entry.needsArtifacts));
        }
    }

    List<HostStatus> statuses() {
        return index.statuses();
    }

    /**
     * The kind of host {@code image} can run on: a composition only runs where guests are simulated; a real image
     * runs where guests boot as soon as any host of the farm does (a simulating host would only pretend to serve it),
     * else on any host ({@code null}).
     */
    GuestKind guestsFor(ImageRef image) {
        return guestsFor(image.compositionOnly());
    }

    /**
     * The kind of host a VM can move to: that of the host it is on, which runs its image; null when that host is gone
     * or has not connected yet (any host, as for an image whose hosts are not known).
     */
    GuestKind guestsOf(VmRecord vm) {
        return index.status(vm.hostId()).map(HostStatus::guests).orElse(null);
    }

    /** As {@link #guestsFor(ImageRef)}, for an image known only to be or not to be a composition only. */
    GuestKind guestsFor(boolean compositionOnly) {
        if (compositionOnly) {
            return GuestKind.SIMULATED;
        }
        return hosts.values().stream().anyMatch(e -> e.needsArtifacts == Boolean.TRUE) ? GuestKind.BOOTED : null;
    }

    /**
     * True when no configured host could ever run a composition-only image: there is at least one, and every one
     * has connected and said it boots guests from artifacts. A host not connected yet might run it.
     */
    boolean noneRunsCompositions() {
        return !hosts.isEmpty() && hosts.values().stream().allMatch(e -> e.needsArtifacts == Boolean.TRUE);
    }

    Optional<HostStatus> status(String name) {
        return index.status(name);
    }

    /** How full the host's staging space was when just read: placement's space filter reads it. */
    void stagingSpaceRead(String host, StagingSpace space) {
        index.stagingSpace(host, space);
    }

    /**
     * Who is told a host's name when a staging there fails (a creation's, a relocation's or a checkpoint's): the
     * staged-content sweep, which reads the host's staging space again at once; {@code null}: nobody.
     */
    void onStagingFailure(java.util.function.Consumer<String> listener) {
        stagingFailed = listener == null ? host -> { } : listener;
    }

    /**
     * Drains or undrains a host.
     *
     * @throws NotFoundException if there is no such host
     */
    HostStatus drain(String name, boolean drained) {
        HostStatus status = index.drain(name, drained);
        LOG.info("Host {} {}", name, drained ? "drained: no new VM is placed there" : "undrained");
        return status;
    }

    /** The connection to {@code host}, or an exception saying why there is none. */
    HostConnection connection(String host) throws HypervisorException {
        Entry entry = entry(host);
        if (entry == null) {
            throw new HypervisorException("host " + host + " is not configured");
        }
        HostConnection connection = entry.connection;
        if (connection == null) {
            throw new HypervisorException("host " + host + " is not connected: " + entry.detail);
        }
        return connection;
    }

    /**
     * Adds a host as a factory configuration (persisted by Configuration Admin) and waits until it is known.
     * Before anything is written, the host's driver must be installed, its name must be free regardless of
     * case (among connected and configured hosts) and the driver must accept it ({@link HypervisorDriver#validate}):
     * on any refusal nothing is persisted and nothing connects.
     *
     * @throws InvalidRequestException naming the field: the driver is not installed or refuses the host
     * @throws ConflictException       a host of that name exists, in any case
     */
    synchronized HostStatus register(HostRecord record) {
        ConfigurationAdmin cm = configurationAdmin;
        if (cm == null) {
            throw new IllegalStateException("Configuration Admin is not available: hosts cannot be added now");
        }
        HypervisorDriver driver = drivers.get(record.driver());
        if (driver == null) {
            throw new InvalidRequestException("driver", "driver '" + Names.excerpt(record.driver())
                    + "' is not installed; installed drivers: " + new java.util.TreeSet<>(drivers.keySet()));
        }
        try {
            Entry known = hosts.get(key(record.name()));
            Optional<String> taken = known != null ? Optional.of(known.record.name())
                    : configuredName(cm, record.name());
            if (taken.isPresent()) {
                throw new ConflictException("host " + record.name() + " exists"
                        + (taken.get().equals(record.name()) ? "" : " as " + taken.get()
                        + " (host names are unique regardless of case)"));
            }
            driver.validate(record);
            CompletableFuture<Void> up = awaitedHosts.computeIfAbsent(record.name(), k -> new CompletableFuture<>());
            Configuration configuration = cm.getFactoryConfiguration(HostConfiguration.FACTORY_PID, record.name(), "?");
            Dictionary<String, Object> properties = toProperties(record);
            properties.put(ORIGIN, ORIGIN_API);
            configuration.update(properties);
            awaitBriefly(up);
            return status(record.name()).orElseThrow(() -> new IllegalStateException("host " + record.name()
                    + " was saved but its configuration was not accepted; see the log"));
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot save host " + record.name() + ": " + safe(e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while adding host " + record.name());
        } finally {
            awaitedHosts.remove(record.name());
        }
    }

    /**
     * Connects a host now, on its lane: one waiting for its next try is tried at once, and should that fail, again after
     * the first interval, not the longest (the operator who asked expects it back); a connected one, or one whose
     * connect is under way, is left as it is.
     *
     * @return its status once the try ended, or after {@link #registrationWait} if its driver has not answered yet
     * @throws NotFoundException if no host of that name is configured
     */
    HostStatus connectNow(String name) {
        Entry entry = entry(name);
        if (entry == null) {
            throw new NotFoundException("no host named " + Names.excerpt(name));
        }
        CompletableFuture<Void> tried = new CompletableFuture<>();
        boolean queued = later(name, () -> {
            try {
                if (entry.connection == null && hosts.get(key(name)) == entry) {
                    LOG.info("Host {}: connecting now, as asked", name);
                    entry.retry = null;
                    detail(entry, "connecting");
                    connect(entry);
                }
            } finally {
                tried.complete(null);
            }
        });
        if (!queued) {
            throw new IllegalStateException("the host registry is stopping");
        }
        try {
            awaitBriefly(tried);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return status(name).orElseThrow(() -> new NotFoundException("no host named " + Names.excerpt(name)));
    }

    /**
     * Waits up to {@link #registrationWait} for a host's connect to end (its future only ever completes normally): one
     * still connecting after it (a remote host that does not answer may take up to {@link #connectWait}) is answered
     * as it is, its status saying "connecting".
     */
    private void awaitBriefly(Future<Void> connect) throws InterruptedException {
        try {
            connect.get(registrationWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // still connecting: its status says so
        }
    }

    /**
     * Removes a host that runs no VM, with its configuration. Whether VMs occupy it is decided atomically with
     * placement's reservations ({@link HostIndex#retire}): from then on nothing is placed there.
     *
     * @throws NotFoundException if there is no such host
     * @throws ConflictException if VMs occupy it
     */
    void unregister(String name) {
        ConfigurationAdmin cm = configurationAdmin;
        Optional<Configuration> configuration;
        try {
            configuration = cm == null ? Optional.empty() : configurationOf(cm, name);
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot remove host " + name + ": " + e.getMessage(), e);
        }
        if (configuration.isEmpty()) {
            throw new NotFoundException("no host named " + name);
        }
        index.retire(name);
        try {
            configuration.get().delete();
        } catch (IOException | RuntimeException e) {
            index.unretire(name);
            Optional.ofNullable(entry(name)).ifPresent(entry -> detail(entry, entry.detail));
            throw new IllegalStateException("cannot remove host " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * The configuration property that marks a host added through the API (here or, shared through the store, on
     * another appliance), as against one of this appliance's own {@code etc/} files.
     */
    static final String ORIGIN = "origin";
    static final String ORIGIN_API = "api";

    /** The names of the hosts added through the API, by their configurations. */
    Set<String> addedThroughApi() {
        ConfigurationAdmin cm = configurationAdmin;
        Set<String> names = new java.util.TreeSet<>();
        try {
            Configuration[] found = cm == null ? null : cm.listConfigurations("(&(service.factoryPid="
                    + HostConfiguration.FACTORY_PID + ")(" + ORIGIN + "=" + ORIGIN_API + "))");
            for (Configuration configuration : found == null ? new Configuration[0] : found) {
                Object name = configuration.getProperties() == null ? null : configuration.getProperties().get("name");
                if (name instanceof String text) {
                    names.add(text);
                }
            }
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot list the hosts added through the API: " + e.getMessage(), e);
        }
        return names;
    }

    /** Whether a host of that name is configured here, regardless of case. */
    boolean configured(String name) {
        return hosts.containsKey(key(name));
    }

    /** The name of a persisted host configuration whose name equals {@code name} regardless of case. */
    private static Optional<String> configuredName(ConfigurationAdmin cm, String name)
            throws IOException, InvalidSyntaxException {
        Configuration[] found = cm.listConfigurations("(service.factoryPid=" + HostConfiguration.FACTORY_PID + ")");
        if (found == null) {
            return Optional.empty();
        }
        for (Configuration configuration : found) {
            Dictionary<String, Object> properties = configuration.getProperties();
            Object configured = properties == null ? null : properties.get("name");
            if (configured instanceof String text && text.equalsIgnoreCase(name)) {
                return Optional.of(text);
            }
        }
        return Optional.empty();
    }

    /** The entry of exactly this host name, or {@code null}. */
    private Entry entry(String name) {
        Entry entry = name == null ? null : hosts.get(key(name));
        return entry != null && entry.record.name().equals(name) ? entry : null;
    }

    /** Host names are unique regardless of case: the map key. */
    private static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    /** A driver's message as a host's detail and the log show it: bounded, control characters escaped. */
    static String safe(String message) {
        return Names.excerpt(message, DETAIL_LENGTH);
    }

    private static Optional<Configuration> configurationOf(ConfigurationAdmin cm, String name)
            throws IOException, InvalidSyntaxException {
        if (!HostRecord.validName(name)) {
            return Optional.empty();
        }
        Configuration[] found = cm.listConfigurations("(&(service.factoryPid=" + HostConfiguration.FACTORY_PID
                + ")(name=" + name + "))");
        return found == null || found.length == 0 ? Optional.empty() : Optional.of(found[0]);
    }

    private static Dictionary<String, Object> toProperties(HostRecord record) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("name", record.name());
        p.put("driver", record.driver());
        p.put("uri", record.uri());
        p.put("capacity.vcpus", record.capacity().vcpus());
        p.put("capacity.memoryMiB", record.capacity().memoryMiB());
        p.put("capacity.vms", record.capacity().vms());
        p.put("costPerHour", record.costPerHour());
        p.put("securityZone", record.securityZone());
        p.put("speed", record.speed());
        record.properties().forEach((k, v) -> p.put(HostConfiguration.DRIVER_PREFIX + k, v));
        return p;
    }
}
