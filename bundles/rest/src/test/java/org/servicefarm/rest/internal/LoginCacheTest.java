package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.servicefarm.rest.internal.LoginCache.Login;

class LoginCacheTest {

    private final AtomicLong nanos = new AtomicLong(1_000);
    private final Login alice = new Login("alice", Set.of("viewer"));

    private LoginCache cache(Duration ttl, int size) {
        return new LoginCache(ttl, size, nanos::get);
    }

    @Test
    void rememberedUntilTheTtlHasPassed() {
        LoginCache cache = cache(Duration.ofSeconds(60), 10);
        cache.put("k", alice);

        nanos.addAndGet(59_999_000_000L);
        assertEquals(alice, cache.get("k"));

        nanos.addAndGet(1_000_000L);
        assertNull(cache.get("k"));
        assertEquals(0, cache.size());
    }

    /** Caffeine chooses what makes room (by frequency and recency, not by expiry): the bound is what holds. */
    @Test
    void boundedWhateverIsAdded() {
        LoginCache cache = cache(Duration.ofSeconds(1), 2);
        cache.put("old", alice);
        nanos.addAndGet(500_000_000L);
        cache.put("mid", alice);
        nanos.addAndGet(100_000_000L);

        cache.put("new", alice);
        assertTrue(cache.size() <= 2, "at most two logins: " + cache.size());

        for (int i = 0; i < 100; i++) {
            cache.put("flood-" + i, alice);
        }
        assertTrue(cache.size() <= 2, "at most two logins: " + cache.size());
    }

    @Test
    void expiredLoginsAreDropped() {
        LoginCache cache = cache(Duration.ofSeconds(1), 10);
        cache.put("old", alice);
        nanos.addAndGet(500_000_000L);
        cache.put("mid", alice);

        nanos.addAndGet(600_000_000L); // "old" has expired, "mid" has not
        assertNull(cache.get("old"));
        assertNotNull(cache.get("mid"));
        assertEquals(1, cache.size());
    }

    @Test
    void zeroTtlRemembersNothing() {
        LoginCache cache = cache(Duration.ZERO, 10);
        cache.put("k", alice);

        assertNull(cache.get("k"));
        assertEquals(0, cache.size());
    }

    @Test
    void replacingAKeyDoesNotEvictAnother() {
        LoginCache cache = cache(Duration.ofSeconds(1), 2);
        cache.put("a", alice);
        cache.put("b", alice);

        cache.put("a", new Login("alice", Set.of("admin")));

        assertNotNull(cache.get("b"));
        assertEquals(Set.of("admin"), cache.get("a").roles());
    }
}
