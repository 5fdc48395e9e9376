package org.servicefarm.rest.internal;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * Slows password guessing: failed logins are counted per user at one client address, per address
 * and per user. Once a count reaches its threshold, that key must wait before its next attempt is
 * checked at all: first {@link Limits#firstDelay()}, doubling with each further failure, at most
 * {@link Limits#maxDelay()}. A count starts over after {@link Limits#window()} without a failure.
 * <p>
 * The pair has the lowest threshold: a guesser at one address is slowed first. The address alone
 * catches one address trying many users; the user alone, with the highest threshold, catches many
 * addresses trying one user, and since its wait is capped such an attacker cannot lock the real
 * user out for long. A successful login clears its pair only: the other counts are the attacker's.
 * <p>
 * The records live in a bounded, expiring Caffeine cache keyed by digests, so that a flood of
 * made-up user names can neither grow it without end nor fill it with long strings.
 */
final class LoginThrottle {

    /**
     * @param userAddressFailures failures of one user at one address before it must wait
     * @param addressFailures     failures at one address, whatever the user, before it must wait
     * @param userFailures        failures of one user, whatever the address, before it must wait
     * @param window              how long a count lasts after its last failure
     * @param firstDelay          the first wait once a threshold is reached
     * @param maxDelay            the longest wait
     * @param trackedKeys         how many records are kept at most
     */
    record Limits(int userAddressFailures, int addressFailures, int userFailures, Duration window,
                  Duration firstDelay, Duration maxDelay, int trackedKeys) {

        Limits {
            if (userAddressFailures < 1 || addressFailures < 1 || userFailures < 1 || trackedKeys < 1
                    || !positive(window) || !positive(firstDelay) || maxDelay.compareTo(firstDelay) < 0) {
                throw new IllegalArgumentException("login throttle needs thresholds >= 1, a positive window and "
                        + "first delay, a longest delay no shorter than the first, and room for one key");
            }
        }

        private static boolean positive(Duration duration) {
            return !duration.isNegative() && !duration.isZero();
        }

        static Limits of(RestConfig config) {
            return new Limits(config.throttleUserAddressFailures(), config.throttleAddressFailures(),
                    config.throttleUserFailures(), Duration.ofSeconds(config.throttleWindowSeconds()),
                    Duration.ofSeconds(config.throttleFirstDelaySeconds()),
                    Duration.ofSeconds(config.throttleMaxDelaySeconds()), config.throttleTrackedKeys());
        }
    }

    /** The failures of one key in its current window, and until when (ticker nanoseconds) it must wait. */
    private record Failures(int count, long waitUntil) {
    }

    private final Limits limits;
    private final Ticker ticker;
    private final Cache<String, Failures> failures;

    LoginThrottle(Limits limits, Ticker ticker) {
        this.limits = limits;
        this.ticker = ticker;
        // A record outlives its last failure by the window, and always its wait.
        Duration keep = limits.window().compareTo(limits.maxDelay()) >= 0 ? limits.window() : limits.maxDelay();
        this.failures = Caffeine.newBuilder()
                .expireAfterWrite(keep)
                .maximumSize(limits.trackedKeys())
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    /**
     * How many whole seconds {@code user} at {@code address} must wait before a login attempt is
     * checked; 0 when it may try now.
     */
    long secondsToWait(String user, String address) {
        long now = ticker.read();
        long longest = 0;
        for (String key : keys(user, address)) {
            Failures record = failures.getIfPresent(key);
            if (record != null && record.waitUntil - now > 0) {
                longest = Math.max(longest, record.waitUntil - now);
            }
        }
        return longest == 0 ? 0 : Math.max(1, (longest + 999_999_999L) / 1_000_000_000L);
    }

    /** Counts a failed login of {@code user} at {@code address} against the pair, the address and the user. */
    void failed(String user, String address) {
        long now = ticker.read();
        String[] keys = keys(user, address);
        int[] thresholds = {limits.userAddressFailures(), limits.addressFailures(), limits.userFailures()};
        for (int i = 0; i < keys.length; i++) {
            int threshold = thresholds[i];
            failures.asMap().compute(keys[i], (key, old) -> {
                int count = old == null ? 1 : old.count + 1;
                long waitUntil = count < threshold ? 0 : now + delayNanos(count - threshold);
                return new Failures(count, waitUntil);
            });
        }
    }

    /** Forgets the failures of {@code user} at {@code address}: the real user is back. */
    void succeeded(String user, String address) {
        failures.invalidate(keys(user, address)[0]);
    }

    /** How many users, addresses and pairs are tracked, once expired and surplus records are gone. */
    long tracked() {
        failures.cleanUp();
        return failures.estimatedSize();
    }

    /** The wait after the {@code beyond}-th failure past a threshold: the first delay, doubled each time, capped. */
    private long delayNanos(int beyond) {
        long first = limits.firstDelay().toNanos();
        long max = limits.maxDelay().toNanos();
        int doublings = Math.min(beyond, 62);
        return first > (max >> doublings) ? max : Math.min(max, first << doublings);
    }

    /** The pair, the address and the user; the user name is the client's text, so only its digest is kept. */
    private static String[] keys(String user, String address) {
        String userDigest = Digests.sha256(user);
        return new String[] {"pair " + userDigest + " " + address, "address " + address, "user " + userDigest};
    }
}
