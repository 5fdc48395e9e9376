package org.servicefarm.core.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.function.Supplier;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.servicefarm.api.Offering;
import org.servicefarm.api.store.FarmKeys;

/**
 * Tickets that tell a retry from a new request. A RETRY_LATER answer carries one; a client that comes back with it
 * asks again for what it asked before, which popularity and the keep-alive policy must not count twice: a client
 * retrying every second through an 8-second boot would otherwise count nine requests, and eight idle times of a
 * second. A ticket is its combination and the second it was issued, signed with the farm's key: the store's
 * ({@link FarmKeys}: one for every appliance of a database, so a retry that a load balancer sends to another one is
 * still a retry, and kept across restarts), or without a store one this manager draws when it starts. Nothing is
 * kept per ticket. It is good for {@link #VALID} (an answer to a retry carries a fresh one); one for another
 * combination, too old, forged or signed with another key is not a retry, and the request counts.
 */
final class RetryTickets {

    static final Duration VALID = Duration.ofMinutes(10);
    /** The name of the farm's key for tickets in {@link FarmKeys}. */
    static final String KEY_NAME = "retry-tickets";
    /** Four bytes of the second it was issued, then the first twelve of its HMAC-SHA256: 22 base64url characters. */
    private static final int MAC_BYTES = 12;
    private static final int BYTES = 4 + MAC_BYTES;

    private final Clock clock;
    private final Supplier<FarmKeys> farmKeys;
    private final byte[] ownKey = new byte[32];

    /** @param farmKeys the store's keys now, or null while there is no store */
    RetryTickets(Clock clock, Supplier<FarmKeys> farmKeys) {
        this.clock = clock;
        this.farmKeys = farmKeys;
        new SecureRandom().nextBytes(ownKey);
    }

    /** A ticket for a retry of a request for {@code offering}, good from now for {@link #VALID}. */
    String issue(Offering offering) {
        long second = clock.instant().getEpochSecond();
        ByteBuffer ticket = ByteBuffer.allocate(BYTES).putInt((int) second).put(mac(offering, second), 0, MAC_BYTES);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(ticket.array());
    }

    /** Whether {@code ticket} (may be null) was issued by this farm for {@code offering} within {@link #VALID}. */
    boolean isRetry(String ticket, Offering offering) {
        if (ticket == null || ticket.length() != 22) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(ticket);
        } catch (IllegalArgumentException e) {
            return false;
        }
        ByteBuffer read = ByteBuffer.wrap(bytes);
        long second = Integer.toUnsignedLong(read.getInt());
        long now = clock.instant().getEpochSecond();
        if (second > now + 1 || now - second > VALID.toSeconds()) {
            return false;
        }
        byte[] mac = Arrays.copyOfRange(bytes, 4, BYTES);
        return MessageDigest.isEqual(mac, Arrays.copyOf(mac(offering, second), MAC_BYTES));
    }

    /** The farm's key when the store can give it, else this manager's own. */
    private byte[] key() {
        FarmKeys keys = farmKeys.get();
        if (keys != null) {
            try {
                return keys.key(KEY_NAME);
            } catch (RuntimeException e) { // the store is down: tickets of this manager's own, for now
                return ownKey;
            }
        }
        return ownKey;
    }

    private byte[] mac(Offering offering, long second) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256"); // not thread-safe: one per call (RETRY_LATER answers only)
            mac.init(new SecretKeySpec(key(), "HmacSHA256"));
            mac.update(offering.key().getBytes(StandardCharsets.UTF_8));
            mac.update(ByteBuffer.allocate(8).putLong(second).array());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
