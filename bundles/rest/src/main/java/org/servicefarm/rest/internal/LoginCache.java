package org.servicefarm.rest.internal;

import java.time.Duration;
import java.util.Set;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * Successful logins remembered for a short time, because a JAAS login per HTTP request costs
 * more than the request itself. Keyed by a digest of the Authorization header, so no password
 * is kept; bounded, so that many distinct credentials cannot grow it without end. Failed
 * logins are never cached: a changed or wrong password is always checked.
 */
final class LoginCache {

    /** Who logged in and the realm's roles for them. */
    record Login(String user, Set<String> roles) {
        Login {
            roles = Set.copyOf(roles);
        }
    }

    /** {@code null} when the cache is off (a time to live of 0). */
    private final Cache<String, Login> logins;

    /**
     * @param ticker the clock entries expire by (nanoseconds); tests pass their own
     */
    LoginCache(Duration ttl, int maxEntries, Ticker ticker) {
        if (ttl.isNegative() || maxEntries < 1) {
            throw new IllegalArgumentException("login cache needs ttl >= 0 and size >= 1");
        }
        this.logins = ttl.isZero() ? null : Caffeine.newBuilder()
                .expireAfterWrite(ttl)
                .maximumSize(maxEntries)
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    /** The remembered login for {@code key}, or {@code null} if there is none or it has expired. */
    Login get(String key) {
        return logins == null ? null : logins.getIfPresent(key);
    }

    void put(String key, Login login) {
        if (logins != null) {
            logins.put(key, login);
        }
    }

    /** How many logins are remembered, once expired and surplus ones are gone. */
    long size() {
        if (logins == null) {
            return 0;
        }
        logins.cleanUp();
        return logins.estimatedSize();
    }
}
