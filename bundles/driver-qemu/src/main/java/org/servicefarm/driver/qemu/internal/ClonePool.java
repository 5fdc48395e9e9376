package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Pre-started QEMU processes waiting for a checkpoint's state ({@code -incoming defer}, RAM mapped
 * copy-on-write from the checkpoint's file), so that a request costs only the device-state load and
 * a {@code cont}.
 *
 * <p><b>Keyed per checkpoint.</b> The RAM file is fixed when QEMU starts, and a process started for
 * checkpoint A that loads checkpoint B's device state fails the load and exits (measured: "VQ 0 size
 * 0x100 < last_avail_idx 0xf - used_idx 0x1a", the virtio rings in A's RAM do not match B's device
 * state); so each checkpoint has its own idle slots and a size of its own.
 *
 * <p><b>Ports.</b> Each slot gets its host ports when it starts (one per service of the checkpoint):
 * the forward is on QEMU's command line, nothing is added at claim time, and the endpoint is known
 * before the claim. An idle slot's forward accepts connections but nothing answers until it is claimed.
 *
 * <p><b>Capacity.</b> Every slot holds a reservation of the checkpoint's memory on {@link Capacity}: a
 * pool never crowds out guests; a claimed slot hands its reservation over with the clone (release it with
 * {@link #retire}). Refills run on one background thread, so a claim never waits for a process to start
 * unless the pool is empty.
 */
public final class ClonePool implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ClonePool.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The host has no room for another process. */
    public static final class NoCapacityException extends IOException {
        private static final long serialVersionUID = 1L;

        NoCapacityException(String message) {
            super(message);
        }
    }

    /** A host's capacity for guests, counted in guest memory. */
    public interface Capacity {
        /** Reserves {@code memoryMiB} for one more process; false when the host is full. */
        boolean tryReserve(int memoryMiB);

        void release(int memoryMiB);
    }

    /** A fixed capacity: at most {@code maxProcesses} processes and {@code maxMemoryMiB} of guest memory. */
    public static final class FixedCapacity implements Capacity {
        private final int maxProcesses;
        private final long maxMemoryMiB;
        private int processes;
        private long memoryMiB;

        public FixedCapacity(int maxProcesses, long maxMemoryMiB) {
            this.maxProcesses = maxProcesses;
            this.maxMemoryMiB = maxMemoryMiB;
        }

        @Override
        public synchronized boolean tryReserve(int mib) {
            if (processes + 1 > maxProcesses || memoryMiB + mib > maxMemoryMiB) {
                return false;
            }
            processes++;
            memoryMiB += mib;
            return true;
        }

        @Override
        public synchronized void release(int mib) {
            processes = Math.max(0, processes - 1);
            memoryMiB = Math.max(0, memoryMiB - mib);
        }

        public synchronized int processes() {
            return processes;
        }
    }

    private final Cloner cloner;
    private final PortRange ports;
    private final Capacity capacity;
    private final Duration restoreTimeout;
    private final Map<String, Checkpoint> checkpoints = new ConcurrentHashMap<>();
    private final Map<String, Integer> targets = new ConcurrentHashMap<>();
    private final Map<String, Deque<QemuGuest>> idle = new ConcurrentHashMap<>();
    private final Map<String, Integer> starting = new ConcurrentHashMap<>();
    private final ExecutorService refiller;
    private volatile boolean closed;

    public ClonePool(Cloner cloner, PortRange ports, Capacity capacity, Duration restoreTimeout) {
        this.cloner = cloner;
        this.ports = ports;
        this.capacity = capacity;
        this.restoreTimeout = restoreTimeout;
        this.refiller = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "qemu-pool-refill");
            t.setDaemon(true);
            return t;
        });
    }

    /** Keeps {@code size} idle processes for {@code checkpoint} (0 empties its pool); refills in the background. */
    public void setSize(Checkpoint checkpoint, int size) {
        Checks.range("pool size", size, 0, 64);
        checkpoints.put(checkpoint.id(), checkpoint);
        targets.put(checkpoint.id(), size);
        idle.computeIfAbsent(checkpoint.id(), k -> new ConcurrentLinkedDeque<>());
        refillLater();
    }

    /**
     * Empties a checkpoint's pool for good: its idle processes quit (on the refill thread, so none is being started
     * for it meanwhile) and none is started again; its running clones stay. False when that took longer than
     * {@code timeout}.
     */
    public boolean empty(Checkpoint checkpoint, Duration timeout) {
        setSize(checkpoint, 0);
        long end = System.nanoTime() + timeout.toNanos();
        while (idle(checkpoint.id()) > 0 || starting.getOrDefault(checkpoint.id(), 0) > 0) {
            if (System.nanoTime() > end) {
                return false;
            }
            sleep(20);
        }
        return true;
    }

    /** Idle processes ready for {@code checkpointId} now. */
    public int idle(String checkpointId) {
        Deque<QemuGuest> q = idle.get(checkpointId);
        return q == null ? 0 : q.size();
    }

    /** Waits until {@code checkpointId} has its target of idle processes (for tests and benchmarks). */
    public boolean awaitFull(String checkpointId, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (idle(checkpointId) >= targets.getOrDefault(checkpointId, 0) && starting.getOrDefault(checkpointId, 0) == 0) {
                return true;
            }
            sleep(10);
        }
        return false;
    }

    /**
     * A running clone of {@code checkpoint}: an idle process takes the state, or, when none is idle, a
     * process is started now (slower: QEMU's start is in the wait). The clone holds its ports and its
     * capacity reservation until {@link #retire}d.
     */
    public QemuGuest claim(Checkpoint checkpoint) throws IOException {
        checkpoints.putIfAbsent(checkpoint.id(), checkpoint);
        QemuGuest guest = takeIdle(checkpoint.id());
        if (guest == null) {
            guest = startSlot(checkpoint, GuestState.Role.CLONE);
        }
        try {
            cloner.restore(guest, checkpoint, Cloner.Mode.COPY_ON_WRITE, restoreTimeout);
            return guest;
        } catch (IOException | RuntimeException e) {
            retire(guest);
            throw e;
        } finally {
            // After the restore: a QEMU starting beside it would take CPU from the claim.
            refillLater();
        }
    }

    /**
     * Quits one idle process (of the checkpoint with the most idle ones) to give its room to a guest; false when
     * none is idle. The pool refills when room comes back ({@link #topUp}).
     */
    public boolean shedIdle() {
        Deque<QemuGuest> fullest = null;
        for (Deque<QemuGuest> q : idle.values()) {
            if (!q.isEmpty() && (fullest == null || q.size() > fullest.size())) {
                fullest = q;
            }
        }
        QemuGuest g = fullest == null ? null : fullest.pollLast();
        if (g == null) {
            return false;
        }
        retire(g);
        return true;
    }

    /** Refills the pools in the background (room came back on the host). */
    public void topUp() {
        refillLater();
    }

    /** Stops a clone this pool made and gives back its ports and capacity. */
    public void retire(QemuGuest guest) {
        guest.quit(Duration.ofSeconds(10));
        for (GuestSpec.Forward f : guest.forwards()) {
            ports.release(f.hostPort());
        }
        Checkpoint cp = checkpoints.get(guest.state().checkpoint());
        capacity.release(cp == null ? 0 : cp.memoryMiB());
    }

    /**
     * Takes back what a restart left ({@link QemuLauncher#recover()}): idle pool processes of the
     * {@code known} checkpoints return to their pool, the ports of all are reserved, and the clones are
     * returned for the caller to account for. Call it before {@link #setSize}, which would otherwise
     * start processes that the adopted ones make unnecessary.
     */
    public List<QemuGuest> adopt(List<QemuGuest> recovered, List<Checkpoint> known) {
        for (Checkpoint cp : known) {
            checkpoints.putIfAbsent(cp.id(), cp);
        }
        List<QemuGuest> clones = new ArrayList<>();
        for (QemuGuest g : recovered) {
            String cp = g.state().checkpoint();
            if (cp == null || !checkpoints.containsKey(cp)) {
                continue;
            }
            g.forwards().forEach(f -> ports.reserve(f.hostPort()));
            capacity.tryReserve(checkpoints.get(cp).memoryMiB());
            if (g.state().role() == GuestState.Role.POOL && g.state().phase() == GuestState.Phase.INCOMING) {
                idle.computeIfAbsent(cp, k -> new ConcurrentLinkedDeque<>()).add(g);
                watchDeath(cp, g);
            } else if (g.state().role() == GuestState.Role.CLONE) {
                clones.add(g);
            }
        }
        refillLater();
        return clones;
    }

    /**
     * Stops refilling and leaves the idle processes running, their QMP connections closed: the
     * appliance stops, and the next one {@link #adopt}s them.
     */
    public void detach() {
        stopRefilling();
        for (Deque<QemuGuest> q : idle.values()) {
            QemuGuest g;
            while ((g = q.pollFirst()) != null) {
                g.detach();
            }
        }
    }

    /** Stops refilling and quits every idle process (claimed clones keep running). */
    @Override
    public void close() {
        stopRefilling();
        for (Deque<QemuGuest> q : idle.values()) {
            QemuGuest g;
            while ((g = q.pollFirst()) != null) {
                retire(g);
            }
        }
    }

    private void stopRefilling() {
        closed = true;
        // No interrupt: a launch in progress finishes (the refill loop then stops) rather than leave a process behind.
        refiller.shutdown();
        try {
            refiller.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private QemuGuest takeIdle(String checkpointId) {
        Deque<QemuGuest> q = idle.get(checkpointId);
        if (q == null) {
            return null;
        }
        QemuGuest g;
        while ((g = q.pollFirst()) != null) {
            if (g.alive() && g.qmp().isOpen()) {
                return g;
            }
            retire(g);
        }
        return null;
    }

    private QemuGuest startSlot(Checkpoint checkpoint, GuestState.Role role) throws IOException {
        if (!capacity.tryReserve(checkpoint.memoryMiB())) {
            throw new NoCapacityException("no capacity left on this host for a clone of " + checkpoint.id());
        }
        List<Integer> hostPorts;
        try {
            hostPorts = ports.allocate(checkpoint.guestPorts().size());
        } catch (IOException e) {
            capacity.release(checkpoint.memoryMiB());
            throw e;
        }
        List<GuestSpec.Forward> forwards = new ArrayList<>();
        for (int i = 0; i < hostPorts.size(); i++) {
            forwards.add(new GuestSpec.Forward(hostPorts.get(i), checkpoint.guestPorts().get(i)));
        }
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            String name = checkpoint.id() + "-" + suffix();
            try {
                return cloner.prepare(checkpoint, name, forwards, Cloner.Mode.COPY_ON_WRITE, role);
            } catch (IOException e) {
                last = e;
                if (!e.getMessage().contains("exists") && !e.getMessage().contains("being launched")) {
                    break;
                }
            }
        }
        hostPorts.forEach(ports::release);
        capacity.release(checkpoint.memoryMiB());
        throw last;
    }

    private void refillLater() {
        if (closed) {
            return;
        }
        try {
            refiller.execute(this::refill);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private void refill() {
        for (Map.Entry<String, Integer> target : targets.entrySet()) {
            String id = target.getKey();
            Checkpoint cp = checkpoints.get(id);
            Deque<QemuGuest> q = idle.computeIfAbsent(id, k -> new ConcurrentLinkedDeque<>());
            while (!closed && q.size() < target.getValue()) {
                starting.merge(id, 1, Integer::sum);
                try {
                    QemuGuest g = startSlot(cp, GuestState.Role.POOL);
                    q.addLast(g);
                    watchDeath(id, g);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "pool for " + id + " could not start a process: " + e.getMessage());
                    break;
                } finally {
                    starting.merge(id, -1, Integer::sum);
                }
            }
            while (q.size() > target.getValue()) {
                QemuGuest g = q.pollLast();
                if (g != null) {
                    retire(g);
                }
            }
        }
    }

    /** An idle process that dies leaves the pool, which refills. */
    private void watchDeath(String checkpointId, QemuGuest g) {
        g.disconnected().thenRun(() -> {
            Deque<QemuGuest> q = idle.get(checkpointId);
            if (q != null && q.remove(g)) {
                LOG.log(System.Logger.Level.WARNING, "idle pool process " + g.name() + " went away");
                if (!g.alive()) {
                    retire(g);
                }
                refillLater();
            }
        });
    }

    private static String suffix() {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder s = new StringBuilder(6);
        for (int i = 0; i < 6; i++) {
            s.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
