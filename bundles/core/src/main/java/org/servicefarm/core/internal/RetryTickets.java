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

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.servicefarm.api.Offering;

/**
 * Tickets that tell a retry from a new request. A RETRY_LATER answer carries one; a client that comes back with it
 * asks again for what it asked before, which popularity and the keep-alive policy must not count twice: a client
 * retrying every second through an 8-second boot would otherwise count nine requests, and eight idle times of a
 * second. A ticket is its combination and the second it was issued, signed with a key this manager draws when it
 * starts: nothing is kept per ticket. It is good for {@link #VALID} (an answer to a retry carries a fresh one); one
 * from before a restart, from another appliance, for another combination, too old or forged is not a retry, and the
 * request counts.
 */
final class RetryTickets {

    static final Duration VALID = Duration.ofMinutes(10);
    /** Four bytes of the second it was issued, then the first twelve of its HMAC-SHA256: 22 base64url characters. */
    private static final int MAC_BYTES = 12;
    private static final int BYTES = 4 + MAC_BYTES;

    private final Clock clock;
    private final SecretKeySpec key;

    RetryTickets(Clock clock) {
        this.clock = clock;
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        this.key = new SecretKeySpec(secret, "HmacSHA256");
    }

    /** A ticket for a retry of a request for {@code offering}, good from now for {@link #VALID}. */
    String issue(Offering offering) {
        long second = clock.instant().getEpochSecond();
        ByteBuffer ticket = ByteBuffer.allocate(BYTES).putInt((int) second).put(mac(offering, second), 0, MAC_BYTES);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(ticket.array());
    }

    /** Whether {@code ticket} (may be null) is one this manager issued for {@code offering} within {@link #VALID}. */
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

    private byte[] mac(Offering offering, long second) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256"); // not thread-safe: one per call (RETRY_LATER answers only)
            mac.init(key);
            mac.update(offering.key().getBytes(StandardCharsets.UTF_8));
            mac.update(ByteBuffer.allocate(8).putLong(second).array());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
