package org.servicefarm.driver.xapi.simulator;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * XAPI's database, in memory: every object's record, the sessions, and the generation counter event.from reads.
 * Everything is guarded by {@link #lock}; a call holds it from its session check to its answer.
 */
final class Pool {

    static final String NULL = "OpaqueRef:NULL";
    private static final DateTimeFormatter DATETIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Obj> objects = new LinkedHashMap<>();
    /** Destroyed objects, for the "del" events of the tokens older than their end. */
    private final List<Obj> destroyed = new ArrayList<>();
    private final Set<String> sessions = new HashSet<>();
    private long generation;
    /** Bumped when the endpoint stops: a blocked event.from returns (its connection is gone anyway). */
    private long epoch;

    /** One object: its class as XAPI names it, its ref, its record and the generations of its changes. */
    static final class Obj {
        final String cls;
        final String ref;
        final Map<String, Object> rec;
        long created;
        long modified;
        long deleted;
        Instant time;

        private Obj(String cls, String ref, Map<String, Object> rec) {
            this.cls = cls;
            this.ref = ref;
            this.rec = rec;
        }

        String str(String field) {
            return (String) rec.get(field);
        }

        @SuppressWarnings("unchecked")
        List<String> list(String field) {
            return (List<String>) rec.get(field);
        }

        @SuppressWarnings("unchecked")
        Map<String, String> map(String field) {
            return (Map<String, String>) rec.get(field);
        }
    }

    /** {@code action} under the lock. */
    <T> T locked(Supplier<T> action) {
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    void locked(Runnable action) {
        locked(() -> {
            action.run();
            return null;
        });
    }

    static String datetime(Instant instant) {
        return DATETIME.format(instant);
    }

    Obj create(String cls, Map<String, Object> rec) {
        String uuid = UUID.randomUUID().toString();
        rec.put("uuid", uuid);
        Obj obj = new Obj(cls, "OpaqueRef:" + UUID.randomUUID(), rec);
        objects.put(obj.ref, obj);
        obj.created = ++generation;
        touch(obj);
        return obj;
    }

    /** The object {@code ref} of class {@code cls}, or XAPI's HANDLE_INVALID. */
    Obj get(String cls, String ref) {
        Obj obj = find(cls, ref);
        if (obj == null) {
            throw new XapiException("HANDLE_INVALID", cls, ref);
        }
        return obj;
    }

    /** The object {@code ref} of class {@code cls}, or null. */
    Obj find(String cls, String ref) {
        Obj obj = objects.get(ref);
        return obj != null && obj.cls.equals(cls) ? obj : null;
    }

    /** The object {@code ref} of class {@code cls}, or null for the null ref. */
    Obj getOrNull(String cls, String ref) {
        return NULL.equals(ref) ? null : get(cls, ref);
    }

    List<Obj> all(String cls) {
        return objects.values().stream().filter(o -> o.cls.equals(cls)).toList();
    }

    void set(Obj obj, String field, Object value) {
        obj.rec.put(field, value);
        touch(obj);
    }

    /** Records a change of {@code obj}: a new generation, and every blocked event.from looks again. */
    void touch(Obj obj) {
        obj.modified = ++generation;
        obj.time = Instant.now();
        changed.signalAll();
    }

    void destroy(Obj obj) {
        if (objects.remove(obj.ref) != null) {
            obj.deleted = ++generation;
            obj.time = Instant.now();
            destroyed.add(obj);
            changed.signalAll();
        }
    }

    String login() {
        String session = "OpaqueRef:" + UUID.randomUUID();
        sessions.add(session);
        return session;
    }

    boolean validSession(String session) {
        return sessions.contains(session);
    }

    void checkSession(String session) {
        if (!validSession(session)) {
            throw new XapiException("SESSION_INVALID", session);
        }
    }

    void logout(String session) {
        sessions.remove(session);
        changed.signalAll();
    }

    void invalidateSessions() {
        sessions.clear();
        changed.signalAll();
    }

    /** A blocked event.from returns at once (what it found: nothing). */
    void wakeWaiters() {
        epoch++;
        changed.signalAll();
    }

    /**
     * event.from: what changed in {@code classes} since {@code token}, waiting up to {@code timeout} seconds for
     * something to. As XAPI, one event per object (its newest state): "add" if created since the token, else "mod"
     * if changed, "del" if destroyed (and created before the token); token "" is generation 0, so every object
     * comes as an "add".
     */
    Map<String, Object> eventsFrom(String session, List<String> classes, String token, double timeout)
            throws InterruptedException {
        long since = parseToken(token);
        long deadline = System.nanoTime() + (long) (Math.min(Math.max(0, timeout), 86400) * 1e9); // XAPI's cap: a day
        long startEpoch = epoch;
        List<Map<String, Object>> events = events(classes, since);
        while (events.isEmpty() && epoch == startEpoch) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            changed.awaitNanos(left);
            checkSession(session);
            events = events(classes, since);
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("events", events);
        answer.put("valid_ref_counts", Map.of());
        answer.put("token", String.format("%020d,%020d", generation, 0));
        return answer;
    }

    /** XAPI's token: "generation,message generation" (the latter 0 here, no messages); "" is 0. */
    private static long parseToken(String token) {
        if (!token.isEmpty() && !token.matches("0*\\d{1,18},\\d+")) {
            throw new XapiException("EVENT_FROM_TOKEN_PARSE_FAILURE", token);
        }
        return token.isEmpty() ? 0 : Long.parseLong(token.substring(0, token.indexOf(',')));
    }

    private List<Map<String, Object>> events(List<String> classes, long since) {
        List<Map<String, Object>> events = new ArrayList<>();
        for (Obj obj : objects.values()) {
            if (obj.modified > since && subscribed(classes, obj)) {
                events.add(event(obj, obj.created > since ? "add" : "mod", obj.modified));
            }
        }
        for (Obj obj : destroyed) {
            if (obj.deleted > since && obj.created <= since && subscribed(classes, obj)) {
                events.add(event(obj, "del", obj.deleted));
            }
        }
        events.sort(Comparator.comparingLong(e -> (Long) e.get("id")));
        return events;
    }

    /** A subscription is "*", a class ("vm") or one object ("vm/OpaqueRef:..."), class names in any case. */
    private static boolean subscribed(List<String> classes, Obj obj) {
        for (String sub : classes) {
            String[] parts = sub.split("/", 2);
            if (sub.equals("*") || parts[0].equalsIgnoreCase(obj.cls) && (parts.length == 1 || parts[1].equals(obj.ref))) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, Object> event(Obj obj, String operation, long id) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("id", id);
        event.put("timestamp", datetime(obj.time));
        event.put("class", obj.cls.toLowerCase(Locale.ROOT));
        event.put("operation", operation);
        event.put("ref", obj.ref);
        event.put("obj_uuid", obj.rec.get("uuid"));
        event.put("snapshot", obj.rec);
        return event;
    }
}
