package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.Set;

import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.Weights;
import org.servicefarm.core.internal.HostIndex.Entry;
import org.servicefarm.core.internal.HostIndex.Keys;
import org.servicefarm.core.internal.HostIndex.Slot;
import org.servicefarm.core.internal.HostIndex.Zone;

/**
 * Hosts in ascending order of a blend of weighers' penalties, ties by name, drawn lazily: Fagin's threshold
 * algorithm. Each weighted weigher reads its own index in ascending key order (one host per step each); a host seen
 * in any of them is scored at once from all its keys; the best scored host is emitted once no unseen host can beat
 * it, i.e. once its penalty is below the blend of the keys last read from each index (an unseen host's keys are at
 * least those), or equal to it with a name that comes first (in each index, equal keys go by name). One index read
 * to its end means every host was seen.
 * <p>
 * Hosts that cannot fit the demand are left out of the load indexes early ({@code minShare}); they would fail the
 * capacity check anyway.
 */
final class Ranking implements Iterator<Candidate> {

    /** Hosts as read from one index, in ascending (key, name) order, merged over the zones in view. */
    private abstract static class Source {
        double lastKey;
        String lastName = "";
        Entry next;

        abstract Entry advance();
    }

    /** A k-way merge of the zones' own (already ordered) indexes. */
    private static final class Merged extends Source {
        private final PriorityQueue<Peeking> heads = new PriorityQueue<>(Comparator.comparing(p -> p.head, Entry.ORDER));

        Merged(List<Iterator<Entry>> parts) {
            parts.forEach(part -> {
                if (part.hasNext()) {
                    heads.add(new Peeking(part));
                }
            });
        }

        @Override
        Entry advance() {
            Peeking first = heads.poll();
            if (first == null) {
                return null;
            }
            Entry entry = first.head;
            if (first.rest.hasNext()) {
                first.head = first.rest.next();
                heads.add(first);
            }
            return entry;
        }
    }

    private static final class Peeking {
        Entry head;
        final Iterator<Entry> rest;

        Peeking(Iterator<Entry> rest) {
            this.rest = rest;
            this.head = rest.next();
        }
    }

    /** An index read up to a key: past it no host can fit. */
    private static final class Bounded implements Iterator<Entry> {
        private final Iterator<Entry> inner;
        private final double maxKey;
        private Entry next;

        Bounded(Iterator<Entry> inner, double maxKey) {
            this.inner = inner;
            this.maxKey = maxKey;
            this.next = step();
        }

        private Entry step() {
            if (inner.hasNext()) {
                Entry e = inner.next();
                return e.key() <= maxKey ? e : null;
            }
            return null;
        }

        @Override
        public boolean hasNext() {
            return next != null;
        }

        @Override
        public Entry next() {
            Entry e = next;
            if (e == null) {
                throw new NoSuchElementException();
            }
            next = step();
            return e;
        }
    }

    /** A host seen and scored. */
    private record Scored(Slot slot, double penalty, double[] penalties) {
    }

    private static final Comparator<Scored> BEST_FIRST =
            Comparator.comparingDouble(Scored::penalty).thenComparing(s -> s.slot().name);

    private final Weigher[] weighers;
    private final double[] weights;
    private final double total;
    private final Source[] sources;
    private final Map<String, Integer> replicas = new HashMap<>();
    private final double maxCost;
    private final double maxSpeed;
    private final double maxVms;
    private final double maxRoom;
    private final double maxReplicas;
    private final Set<String> seen = new HashSet<>();
    /** The zones read, for the hosts an index read missed while they moved in it ({@link #seeUnseen}). */
    private final List<Zone> zones;
    /** The load past which no host fits the demand, when every weigher read leaves such hosts out (LOAD, FILL). */
    private final double maxLoad;
    private final PriorityQueue<Scored> queue = new PriorityQueue<>(BEST_FIRST);
    private boolean exhausted;
    private Candidate next;

    Ranking(List<Zone> zones, Weights blend, PlacementRequest request, double minShare) {
        this.zones = zones;
        for (String host : request.replicaHosts()) {
            replicas.merge(host, 1, Integer::sum);
        }
        List<Weigher> used = new ArrayList<>(blend.weights().keySet());
        weighers = used.toArray(Weigher[]::new);
        weights = new double[weighers.length];
        double sum = 0;
        for (int i = 0; i < weighers.length; i++) {
            weights[i] = blend.weight(weighers[i]);
            sum += weights[i];
        }
        total = sum;
        double cost = 0;
        double speed = 0;
        double vms = 0;
        double room = 0;
        for (Zone zone : zones) {
            if (!zone.lists.get(Weigher.COST).isEmpty()) {
                cost = Math.max(cost, zone.lists.get(Weigher.COST).last().key());
                speed = Math.max(speed, -zone.lists.get(Weigher.SPEED).first().key());
                vms = Math.max(vms, zone.lists.get(Weigher.VMS).last().key());
                room = Math.max(room, -zone.lists.get(Weigher.ROOM).first().key());
            }
        }
        maxCost = cost;
        maxSpeed = speed;
        maxVms = vms;
        maxRoom = room;
        maxReplicas = replicas.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        maxLoad = used.stream().allMatch(w -> w == Weigher.LOAD || w == Weigher.FILL) ? 1 - minShare
                : Double.MAX_VALUE;
        sources = new Source[weighers.length];
        for (int i = 0; i < weighers.length; i++) {
            sources[i] = source(weighers[i], zones, minShare);
        }
    }

    private Source source(Weigher weigher, List<Zone> zones, double minShare) {
        if (weigher == Weigher.REPLICAS) {
            return replicaSource(zones);
        }
        List<Iterator<Entry>> parts = new ArrayList<>();
        for (Zone zone : zones) {
            var list = zone.lists.get(weigher);
            parts.add(switch (weigher) {
                // past a load of 1 - minShare no host fits the demand
                case LOAD -> new Bounded(list.iterator(), 1 - minShare);
                case FILL -> list.tailSet(new Entry(-(1 - minShare), "", null)).iterator();
                default -> list.iterator();
            });
        }
        return new Merged(parts);
    }

    /** Hosts without a replica of the offering first (key 0, by name), then the others by their count. */
    private Source replicaSource(List<Zone> zones) {
        List<Iterator<Entry>> none = new ArrayList<>();
        List<Entry> some = new ArrayList<>();
        for (Zone zone : zones) {
            Iterator<Slot> byName = zone.byName.values().iterator();
            none.add(new Iterator<>() {
                private Entry ahead = step();

                private Entry step() {
                    while (byName.hasNext()) {
                        Slot slot = byName.next();
                        if (!replicas.containsKey(slot.name)) {
                            return new Entry(0, slot.name, slot);
                        }
                    }
                    return null;
                }

                @Override
                public boolean hasNext() {
                    return ahead != null;
                }

                @Override
                public Entry next() {
                    Entry e = ahead;
                    ahead = step();
                    return e;
                }
            });
            replicas.forEach((host, count) -> {
                Slot slot = zone.byName.get(host);
                if (slot != null) {
                    some.add(new Entry(count, host, slot));
                }
            });
        }
        some.sort(Entry.ORDER);
        Merged zeros = new Merged(none);
        Iterator<Entry> rest = some.iterator();
        return new Source() {
            @Override
            Entry advance() {
                Entry e = zeros.advance();
                return e != null ? e : rest.hasNext() ? rest.next() : null;
            }
        };
    }

    @Override
    public boolean hasNext() {
        if (next == null) {
            next = computeNext();
        }
        return next != null;
    }

    @Override
    public Candidate next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Candidate c = next;
        next = null;
        return c;
    }

    private Candidate computeNext() {
        while (true) {
            Scored head = queue.peek();
            if (head != null && (exhausted || beatsEveryUnseen(head))) {
                queue.poll();
                return candidate(head);
            }
            if (exhausted) {
                return null;
            }
            advance();
        }
    }

    /** One step down every weighted index. */
    private void advance() {
        for (Source source : sources) {
            Entry e = source.advance();
            if (e == null) {
                if (!exhausted) {
                    exhausted = true;
                    seeUnseen();
                }
                continue;
            }
            source.lastKey = e.key();
            source.lastName = e.name();
            if (seen.add(e.name())) {
                Keys keys = e.slot().keys;
                if (keys != null) { // null: it left the indexes meanwhile
                    queue.add(score(e.slot(), keys));
                }
            }
        }
    }

    /**
     * An index read to its end has seen every host, unless one moved in it during the read: a host's new entry went
     * in behind the read while its old one went (an index is read weakly consistently). Such hosts are taken by name,
     * as the indexes' reads would have taken them.
     */
    private void seeUnseen() {
        for (Zone zone : zones) {
            for (Slot slot : zone.byName.values()) {
                Keys keys = slot.keys;
                if (keys != null && keys.load() <= maxLoad && seen.add(slot.name)) {
                    queue.add(score(slot, keys));
                }
            }
        }
    }

    private boolean beatsEveryUnseen(Scored head) {
        double threshold = 0;
        String lastName = "";
        for (int i = 0; i < sources.length; i++) {
            threshold += weights[i] * penalty(weighers[i], sources[i].lastKey);
            if (sources[i].lastName.compareTo(lastName) > 0) {
                lastName = sources[i].lastName;
            }
        }
        threshold /= total;
        return head.penalty() < threshold || head.penalty() == threshold && head.slot().name.compareTo(lastName) <= 0;
    }

    private Scored score(Slot slot, Keys keys) {
        double[] penalties = new double[weighers.length];
        double sum = 0;
        for (int i = 0; i < weighers.length; i++) {
            Weigher w = weighers[i];
            double key = w == Weigher.REPLICAS ? replicas.getOrDefault(slot.name, 0) : keys.key(w);
            penalties[i] = penalty(w, key);
            sum += weights[i] * penalties[i];
        }
        return new Scored(slot, sum / total, penalties);
    }

    /** A weigher's penalty, 0 to 1, from its index key: monotone in the key, so index order is penalty order. */
    private double penalty(Weigher weigher, double key) {
        double p = switch (weigher) {
            case LOAD -> key;
            case FILL -> 1 + key;
            case ROOM -> maxRoom > 0 ? 1 + key / maxRoom : 0;
            case COST -> maxCost > 0 ? key / maxCost : 0;
            case SPEED -> maxSpeed > 0 ? 1 + key / maxSpeed : 0;
            case VMS -> maxVms > 0 ? key / maxVms : 0;
            case REPLICAS -> maxReplicas > 0 ? key / maxReplicas : 0;
        };
        return Math.max(0, Math.min(1, p));
    }

    private Candidate candidate(Scored scored) {
        Map<Weigher, Double> scores = new EnumMap<>(Weigher.class);
        for (int i = 0; i < weighers.length; i++) {
            scores.put(weighers[i], 1 - scored.penalties()[i]);
        }
        return new Candidate(scored.slot().status.get(), 1 - scored.penalty(), scores);
    }
}
