package org.servicefarm.core.internal;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.function.UnaryOperator;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.GuestKind;
import org.servicefarm.api.HostHealth;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.HostView;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;

/**
 * The one owner of each host's state as placement sees it: a {@link HostStatus} per host, swapped atomically as a
 * whole (its use, connection, drain, health and the security levels of its VMs), and per security zone ordered
 * indexes of the hosts by each {@link Weigher}'s key, so a ranking reads a few hosts instead of all.
 * <p>
 * Use changes incrementally: the state table reports each VM that starts or stops occupying a host
 * ({@link #occupy}, {@link #vacate}), and placement reserves room for a new VM with a compare-and-set on the host's
 * status ({@link #tryReserve}) that succeeds only if the VM still fits: two placements on different hosts never wait
 * for each other, and two on the same host cannot both take its last room. The indexes follow a host's status
 * changes, one thread at a time per host and without making the others wait, so they may trail a change by a moment;
 * rankings read them, reservations never rely on them.
 */
@Component(service = HostIndex.class)
public class HostIndex {

    /** Lets floating-point rounding never prune a host that fits. */
    private static final double EPSILON = 1e-9;
    /** The weighers with an index of their own; {@link Weigher#REPLICAS} is computed per request. */
    static final List<Weigher> INDEXED = List.of(Weigher.LOAD, Weigher.FILL, Weigher.ROOM, Weigher.COST, Weigher.SPEED,
            Weigher.VMS);

    /** One host. Its status is the truth; {@code zone} and {@code keys} say where the indexes hold it. */
    static final class Slot {
        final String name;
        final AtomicReference<HostStatus> status;
        /** Status changes not yet brought to the indexes; whoever raises it from 0 does the work ({@link #reindex}). */
        private final AtomicInteger pending = new AtomicInteger();
        /** Written only by the thread that does the reindexing work. */
        private Zone zone;
        /** The keys the zone's indexes hold for this host (read by rankings without the lock). */
        volatile Keys keys;
        /** Set while the host is being removed: nothing may be reserved there, and it is not reconnected. */
        volatile boolean retiring;

        Slot(String name) {
            this.name = name;
            this.status = new AtomicReference<>(new HostStatus(null, Capacity.ZERO, false, "connecting"));
        }
    }

    /**
     * A host's index keys: ascending is better for every weigher, ties by host name.
     * LOAD: its load; FILL: minus its load; ROOM: minus its free VM slots; COST: its cost per hour; SPEED: minus its
     * speed; VMS: its VM count.
     */
    record Keys(double load, int room, double cost, double speed, int vms) {
        static Keys of(HostStatus status) {
            return new Keys(Math.min(1.0, status.load()), status.free().vms(), status.host().costPerHour(),
                    status.host().speed(), status.used().vms());
        }

        double key(Weigher weigher) {
            return switch (weigher) {
                case LOAD -> load;
                case FILL -> -load;
                case ROOM -> -room;
                case COST -> cost;
                case SPEED -> -speed;
                case VMS -> vms;
                case REPLICAS -> throw new IllegalArgumentException("replicas are not indexed");
            };
        }
    }

    /** An index entry: ordered by key, then host name. */
    record Entry(double key, String name, Slot slot) {
        static final Comparator<Entry> ORDER = Comparator.comparingDouble(Entry::key).thenComparing(Entry::name);
    }

    /** The hosts of one security zone, by name and by each indexed weigher's key. */
    static final class Zone {
        final String name;
        final ConcurrentSkipListMap<String, Slot> byName = new ConcurrentSkipListMap<>();
        final Map<Weigher, ConcurrentSkipListSet<Entry>> lists = new EnumMap<>(Weigher.class);
        final AtomicInteger size = new AtomicInteger();
        /** The largest capacity of any host it ever held, per resource: bounds which hosts can fit a demand. */
        final LongAccumulator maxVcpus = new LongAccumulator(Math::max, 0);
        final LongAccumulator maxMemoryMiB = new LongAccumulator(Math::max, 0);
        final LongAccumulator maxVms = new LongAccumulator(Math::max, 0);

        Zone(String name) {
            this.name = name;
            INDEXED.forEach(w -> lists.put(w, new ConcurrentSkipListSet<>(Entry.ORDER)));
        }

        void add(Slot slot, Keys keys, Capacity capacity) {
            widen(capacity);
            INDEXED.forEach(w -> lists.get(w).add(new Entry(keys.key(w), slot.name, slot)));
            if (byName.put(slot.name, slot) == null) {
                size.incrementAndGet();
            }
        }

        private void widen(Capacity capacity) {
            maxVcpus.accumulate(capacity.vcpus());
            maxMemoryMiB.accumulate(capacity.memoryMiB());
            maxVms.accumulate(capacity.vms());
        }

        void remove(Slot slot, Keys keys) {
            if (byName.remove(slot.name) != null) {
                size.decrementAndGet();
            }
            INDEXED.forEach(w -> lists.get(w).remove(new Entry(keys.key(w), slot.name, null)));
        }

        /**
         * A host of this zone has new keys: each new entry goes in before the old one goes, so that a draw reading
         * the indexes meanwhile finds the host (perhaps twice; a ranking takes a host once), never not at all.
         */
        void rekey(Slot slot, Keys from, Keys to, Capacity capacity) {
            widen(capacity);
            INDEXED.forEach(w -> {
                if (Double.compare(from.key(w), to.key(w)) != 0) {
                    lists.get(w).add(new Entry(to.key(w), slot.name, slot));
                    lists.get(w).remove(new Entry(from.key(w), slot.name, null));
                }
            });
        }
    }

    Clock clock = Clock.systemUTC();
    private final Map<String, Slot> slots = new ConcurrentHashMap<>();
    private final Map<String, Zone> zones = new ConcurrentHashMap<>();

    // ---- hosts come and go (the host registry) ------------------------------------------------------

    /** A host is configured (or its configuration changed): it enters the indexes of its zone. */
    void configure(HostRecord record) {
        Slot slot = slot(record.name());
        slot.retiring = false;
        change(slot, s -> s.withHost(record));
    }

    /**
     * A host's configuration is gone: it leaves the indexes; what its VMs use stays counted until they go, and a drain
     * stays (a configuration updated is removed and configured again).
     */
    void remove(String name) {
        Slot slot = slots.get(name);
        if (slot != null) {
            change(slot, s -> new HostStatus(null, s.used(), false, "removed", s.drained(), HostHealth.HEALTHY,
                    s.securityLevels()));
        }
    }

    /**
     * Its driver connected (health starts afresh) or is gone, with why. A retiring host stays disconnected. It may
     * come before {@link #configure}: the registry connects on its own thread.
     */
    void connection(String name, boolean connected, String detail, GuestKind guests) {
        Slot slot = slot(name);
        boolean usable = connected && !slot.retiring;
        change(slot, s -> {
            HostStatus next = s.withConnection(usable, slot.retiring ? "being removed" : detail)
                    .withGuests(guests != null ? guests : s.guests());
            return connected ? next.withHealth(HostHealth.HEALTHY) : next;
        });
    }

    /** A driver call on the host failed. */
    void failed(String name, String why) {
        Slot slot = slots.get(name);
        if (slot != null) {
            change(slot, s -> s.withHealth(s.health().failed(clock.instant(), why)));
        }
    }

    /** A driver call on the host succeeded: it is healthy again. Costs nothing when it already was. */
    void succeeded(String name) {
        Slot slot = slots.get(name);
        if (slot != null && slot.status.get().health().consecutiveFailures() > 0) {
            change(slot, s -> s.withHealth(HostHealth.HEALTHY));
        }
    }

    /** How full its staging space was when last read (placement's space filter reads it). */
    void stagingSpace(String name, StagingSpace read) {
        Slot slot = slots.get(name);
        if (slot != null && !Objects.equals(slot.status.get().staging(), read)) {
            change(slot, s -> s.withStaging(read));
        }
    }

    /** @throws NotFoundException if no host of that name is configured */
    HostStatus drain(String name, boolean drained) {
        Slot slot = configured(name);
        return change(slot, s -> s.withDrained(drained));
    }

    /**
     * Drains or undrains a host whether it is configured here or not yet: a drain kept in the store applies to a host
     * from the moment its configuration is read, whenever that is.
     */
    void markDrained(String name, boolean drained) {
        change(slot(name), s -> s.withDrained(drained));
    }

    /** The hosts drained here, configured or not yet. */
    Set<String> drained() {
        Set<String> names = new TreeSet<>();
        slots.values().forEach(slot -> {
            if (slot.status.get().drained()) {
                names.add(slot.name);
            }
        });
        return names;
    }

    /**
     * Marks a host as being removed, atomically with its use: from here on nothing is reserved there.
     *
     * @throws ConflictException if VMs occupy it (or placement reserved room there for one)
     * @throws NotFoundException if no host of that name is configured
     */
    void retire(String name) {
        Slot slot = configured(name);
        while (true) {
            HostStatus s = slot.status.get();
            if (s.used().vms() > 0) {
                throw new ConflictException("host " + name + " still holds " + s.used().vms() + " VM(s)");
            }
            if (slot.status.compareAndSet(s, s.withConnection(false, "being removed"))) {
                slot.retiring = true;
                reindex(slot);
                return;
            }
        }
    }

    /** Undoes {@link #retire} when the removal failed; the registry reconnects it. */
    void unretire(String name) {
        Optional.ofNullable(slots.get(name)).ifPresent(slot -> slot.retiring = false);
    }

    // ---- use (the state table and placement) --------------------------------------------------------

    /** A VM occupies {@code host} (it was adopted or came back): counted whatever room is left, as it runs there. */
    void occupy(String host, Capacity resources, String securityLevel) {
        change(slot(host), s -> s.plus(resources, securityLevel));
    }

    /** A VM no longer occupies {@code host}, or a reservation for one is given up. */
    void vacate(String host, Capacity resources, String securityLevel) {
        change(slot(host), s -> s.minus(resources, securityLevel));
    }

    /**
     * Reserves room for one VM, if the host's status is still {@code expected} (the one its filters were checked
     * on), the host is connected and not retiring, and the VM fits. False if the status changed meanwhile or the VM
     * does not fit: the caller checks the filters again on the new status, or moves on.
     */
    boolean tryReserve(Slot slot, HostStatus expected, Capacity demand, String securityLevel) {
        if (expected.host() == null || !expected.connected() || slot.retiring || !expected.free().fits(demand)) {
            return false;
        }
        if (!slot.status.compareAndSet(expected, expected.plus(demand, securityLevel))) {
            return false;
        }
        reindex(slot);
        return true;
    }

    /**
     * Reserves room for one VM on a named host (a VM restored where it was archived), if it is connected, not drained
     * nor retiring, and the VM fits; retries while the host's status changes under it.
     */
    boolean tryReserveOn(String host, Capacity demand, String securityLevel) {
        Slot slot = slotOf(host);
        if (slot == null) {
            return false;
        }
        while (true) {
            HostStatus s = slot.status.get();
            if (s.drained() || !s.connected() || slot.retiring || !s.free().fits(demand)) {
                return false;
            }
            if (tryReserve(slot, s, demand, securityLevel)) {
                return true;
            }
        }
    }

    // ---- reading ------------------------------------------------------------------------------------

    /** The slot of a configured host, or {@code null}. */
    Slot slotOf(String name) {
        Slot slot = slots.get(name);
        return slot == null || slot.status.get().host() == null ? null : slot;
    }

    Optional<HostStatus> status(String name) {
        return Optional.ofNullable(slotOf(name)).map(slot -> slot.status.get());
    }

    /** Every configured host, by name. */
    List<HostStatus> statuses() {
        List<HostStatus> result = new ArrayList<>();
        for (Slot slot : slots.values()) {
            HostStatus s = slot.status.get();
            if (s.host() != null) {
                result.add(s);
            }
        }
        result.sort(Comparator.comparing(HostStatus::name));
        return result;
    }

    /** How many hosts are configured. */
    int size() {
        return zones.values().stream().mapToInt(z -> z.size.get()).sum();
    }

    /** The security zones that hold hosts, by name. */
    Set<String> zones() {
        Set<String> names = new TreeSet<>();
        zones.values().forEach(z -> {
            if (z.size.get() > 0) {
                names.add(z.name);
            }
        });
        return names;
    }

    int zoneSize(String zone) {
        Zone z = zones.get(zone);
        return z == null ? 0 : z.size.get();
    }

    /** The hosts of the named zones, for one decision. */
    HostView view(Collection<String> zoneNames) {
        List<Zone> in = new ArrayList<>();
        for (String name : zoneNames) {
            Zone zone = zones.get(name);
            if (zone != null && zone.size.get() > 0) {
                in.add(zone);
            }
        }
        return new View(in);
    }

    // ---- internals ----------------------------------------------------------------------------------

    private Slot slot(String name) {
        return slots.computeIfAbsent(name, Slot::new);
    }

    private Slot configured(String name) {
        Slot slot = name == null ? null : slotOf(name);
        if (slot == null) {
            throw new NotFoundException("no host named " + org.servicefarm.api.Names.excerpt(name));
        }
        return slot;
    }

    /** Applies {@code change} to the host's status atomically (retrying on contention), then updates the indexes. */
    private HostStatus change(Slot slot, UnaryOperator<HostStatus> change) {
        HostStatus next = slot.status.updateAndGet(change);
        reindex(slot);
        return next;
    }

    /**
     * Brings the indexes in line with the host's current status, after a change of it. The thread that finds no work
     * pending on the host does it, and goes on while changes keep coming; the others return at once (no thread waits
     * for another, which on a host every placement wants would make the slowest decide for all). Each round reads
     * the status after the changes it counts, so when the work stops the indexes hold the latest status.
     */
    private void reindex(Slot slot) {
        if (slot.pending.getAndIncrement() > 0) {
            return; // the thread at work will see this change
        }
        int seen;
        do {
            seen = slot.pending.get();
            HostStatus s = slot.status.get();
            Zone target = s.host() == null ? null : zones.computeIfAbsent(s.host().securityZone(), Zone::new);
            Keys keys = target == null ? null : Keys.of(s);
            if (target != null && target == slot.zone && !Objects.equals(keys, slot.keys)) {
                target.rekey(slot, slot.keys, keys, s.host().capacity());
                slot.keys = keys;
            } else if (target != slot.zone || !Objects.equals(keys, slot.keys)) {
                // into the new zone first, out of the old one after: a draw meanwhile finds the host somewhere
                if (target != null) {
                    target.add(slot, keys, s.host().capacity());
                }
                if (slot.zone != null) {
                    slot.zone.remove(slot, slot.keys);
                }
                slot.zone = target;
                slot.keys = keys;
            }
        } while (slot.pending.addAndGet(-seen) > 0);
    }

    /** The hosts of some zones, read through their indexes. */
    private final class View implements HostView {
        private final List<Zone> zones;

        View(List<Zone> zones) {
            this.zones = zones;
        }

        @Override
        public int size() {
            return zones.stream().mapToInt(z -> z.size.get()).sum();
        }

        @Override
        public Set<String> zones() {
            Set<String> names = new TreeSet<>();
            zones.forEach(z -> names.add(z.name));
            return names;
        }

        @Override
        public Optional<HostStatus> host(String name) {
            for (Zone zone : zones) {
                Slot slot = zone.byName.get(name);
                if (slot != null) {
                    return Optional.of(slot.status.get());
                }
            }
            return Optional.empty();
        }

        @Override
        public java.util.Iterator<Candidate> ranked(Weights weights, PlacementRequest request) {
            return new Ranking(zones, weights, request, minShare(request.demand()));
        }

        /**
         * The smallest share of a host any VM of {@code demand} takes, over the largest host of each resource in view:
         * a host whose load is above one minus it cannot fit the VM, whatever its size.
         */
        private double minShare(Capacity demand) {
            long vcpus = 0;
            long memory = 0;
            long vms = 0;
            for (Zone zone : zones) {
                vcpus = Math.max(vcpus, zone.maxVcpus.get());
                memory = Math.max(memory, zone.maxMemoryMiB.get());
                vms = Math.max(vms, zone.maxVms.get());
            }
            double share = Double.MAX_VALUE;
            share = Math.min(share, vcpus == 0 ? 0 : (double) demand.vcpus() / vcpus);
            share = Math.min(share, memory == 0 ? 0 : (double) demand.memoryMiB() / memory);
            share = Math.min(share, vms == 0 ? 0 : (double) demand.vms() / vms);
            return Math.max(0, share - EPSILON);
        }
    }
}
