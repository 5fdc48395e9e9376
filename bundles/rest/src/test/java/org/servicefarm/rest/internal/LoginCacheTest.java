package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.servicefarm.rest.internal.LoginCache.Login;

class LoginCacheTest {

    private final AtomicLong nanos = new AtomicLong(1_000);
    private final Login alice = new Login("alice", Set.of("viewer"));

    @Test
    void rememberedUntilTheTtlHasPassed() {
        LoginCache cache = new LoginCache(60_000, 10, nanos::get);
        cache.put("k", alice);

        nanos.addAndGet(59_999_000_000L);
        assertEquals(alice, cache.get("k"));

        nanos.addAndGet(1_000_000L);
        assertNull(cache.get("k"));
        assertEquals(0, cache.size());
    }

    @Test
    void boundedDroppingExpiredThenSoonestToExpire() {
        LoginCache cache = new LoginCache(1_000, 2, nanos::get);
        cache.put("old", alice);
        nanos.addAndGet(500_000_000L);
        cache.put("mid", alice);
        nanos.addAndGet(100_000_000L);

        cache.put("new", alice);

        assertEquals(2, cache.size());
        assertNull(cache.get("old"), "the entry closest to expiry made room");
        assertNotNull(cache.get("mid"));
        assertNotNull(cache.get("new"));

        nanos.addAndGet(950_000_000L); // "mid" has expired, "new" has not
        cache.put("newest", alice);
        assertNull(cache.get("mid"));
        assertNotNull(cache.get("new"));
        assertNotNull(cache.get("newest"));
    }

    @Test
    void zeroTtlRemembersNothing() {
        LoginCache cache = new LoginCache(0, 10, nanos::get);
        cache.put("k", alice);

        assertNull(cache.get("k"));
    }

    @Test
    void replacingAKeyDoesNotEvictAnother() {
        LoginCache cache = new LoginCache(1_000, 2, nanos::get);
        cache.put("a", alice);
        cache.put("b", alice);

        cache.put("a", new Login("alice", Set.of("admin")));

        assertNotNull(cache.get("b"));
        assertEquals(Set.of("admin"), cache.get("a").roles());
    }
}
