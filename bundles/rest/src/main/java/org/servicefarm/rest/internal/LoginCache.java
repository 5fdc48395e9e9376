package org.servicefarm.rest.internal;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Successful logins remembered for a short time, because a JAAS login per HTTP request costs
 * more than the request itself. Keyed by a digest of the Authorization header, so no password
 * is kept; bounded, so that many distinct credentials cannot grow it without end. Failed
 * logins are never cached: a changed or wrong password is always checked.
 */
final class LoginCache {

    /** Who logged in and the roles the realm gave them. */
    record Login(String user, Set<String> roles) {
        Login {
            roles = Set.copyOf(roles);
        }
    }

    private record Entry(Login login, long expiresAtNanos) {
    }

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final long ttlNanos;
    private final int maxEntries;
    private final LongSupplier nanoClock;

    LoginCache(long ttlMillis, int maxEntries, LongSupplier nanoClock) {
        if (ttlMillis < 0 || maxEntries < 1) {
            throw new IllegalArgumentException("login cache needs ttl >= 0 and size >= 1");
        }
        this.ttlNanos = ttlMillis * 1_000_000L;
        this.maxEntries = maxEntries;
        this.nanoClock = nanoClock;
    }

    /** The remembered login for {@code key}, or {@code null} if there is none or it has expired. */
    Login get(String key) {
        Entry entry = entries.get(key);
        if (entry == null) {
            return null;
        }
        if (nanoClock.getAsLong() - entry.expiresAtNanos >= 0) {
            entries.remove(key, entry);
            return null;
        }
        return entry.login;
    }

    void put(String key, Login login) {
        if (ttlNanos == 0) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (entries.size() >= maxEntries && !entries.containsKey(key)) {
            makeRoom(now);
        }
        entries.put(key, new Entry(login, now + ttlNanos));
    }

    int size() {
        return entries.size();
    }

    /** Drops expired logins; if none has expired, drops the one closest to expiry. */
    private void makeRoom(long now) {
        entries.values().removeIf(entry -> now - entry.expiresAtNanos >= 0);
        while (entries.size() >= maxEntries) {
            String soonest = null;
            long soonestExpiry = Long.MAX_VALUE;
            for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Entry> candidate = it.next();
                if (soonest == null || candidate.getValue().expiresAtNanos - soonestExpiry < 0) {
                    soonest = candidate.getKey();
                    soonestExpiry = candidate.getValue().expiresAtNanos;
                }
            }
            if (soonest == null) {
                return;
            }
            entries.remove(soonest);
        }
    }
}
