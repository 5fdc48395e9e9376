package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.store.FarmKeys;

class RetryTicketsTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");
    private static final Offering BLOG = new Offering("blog", "5.4",
            new Environment("debian-12", "nginx-1.22", "python-3.11", List.of()), "standard");

    private final VirtualClock clock = new VirtualClock();

    /** The store's keys, as two appliances of one database see them. */
    private static final class SharedKeys implements FarmKeys {
        final Map<String, byte[]> keys = new ConcurrentHashMap<>();
        volatile boolean down;

        @Override
        public byte[] key(String name) {
            if (down) {
                throw new IllegalStateException("the database is down");
            }
            return keys.computeIfAbsent(name, n -> n.repeat(4).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void aTicketIsGoodForItsCombinationForTenMinutes() {
        RetryTickets tickets = new RetryTickets(clock, () -> null);
        String ticket = tickets.issue(WIKI);
        assertTrue(ticket.matches("[A-Za-z0-9_-]{22}"), ticket);
        assertTrue(tickets.isRetry(ticket, WIKI));
        assertFalse(tickets.isRetry(ticket, BLOG), "another combination");
        assertFalse(tickets.isRetry(null, WIKI));
        assertFalse(tickets.isRetry("A".repeat(22), WIKI), "forged");
        assertFalse(tickets.isRetry(ticket.substring(1), WIKI));
        clock.advance(RetryTickets.VALID);
        assertTrue(tickets.isRetry(ticket, WIKI));
        clock.advance(Duration.ofSeconds(1));
        assertFalse(tickets.isRetry(ticket, WIKI), "too old");
    }

    @Test
    void appliancesOfOneStoreTakeEachOthersTicketsAndOthersDoNot() {
        SharedKeys store = new SharedKeys();
        RetryTickets one = new RetryTickets(clock, () -> store);
        RetryTickets two = new RetryTickets(clock, () -> store);
        assertTrue(two.isRetry(one.issue(WIKI), WIKI), "a retry sent to the other appliance is still a retry");
        RetryTickets alone = new RetryTickets(clock, () -> null);
        RetryTickets alsoAlone = new RetryTickets(clock, () -> null);
        assertFalse(alsoAlone.isRetry(alone.issue(WIKI), WIKI), "without a store each has a key of its own");
        assertFalse(one.isRetry(alone.issue(WIKI), WIKI));

        store.down = true; // no key from the store: its own, until the store answers again
        String meanwhile = one.issue(WIKI);
        assertTrue(one.isRetry(meanwhile, WIKI));
        store.down = false;
        assertFalse(one.isRetry(meanwhile, WIKI), "signed with its own key: counted, never refused");
    }
}
