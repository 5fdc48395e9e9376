package org.servicefarm.keepalive.adaptive.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * One combination's idle times (from one request to the next) in bins of a configured width, finer than the one
 * minute of {@link org.servicefarm.api.keepalive.IdleTimes}: a timer every two or three minutes then has warm bins
 * around its period and cold ones between, instead of every minute of it warm. Longer idle times than the range are
 * counted as out of bounds. Thread-safe: requests are recorded from the request path while the lifecycle reads.
 */
final class Gaps {

    private final long binMs;
    private final int[] counts;
    private long inBounds;
    private long outOfBounds;
    private Instant last;

    Gaps(Duration bin, int bins) {
        if (bin.toMillis() < 1 || bins < 1) {
            throw new IllegalArgumentException("a histogram needs bins of at least 1 ms and at least one of them");
        }
        this.binMs = bin.toMillis();
        this.counts = new int[bins];
    }

    /** Records a request at {@code at}: the idle time since the previous one, if any, goes into its bin. */
    synchronized void record(Instant at) {
        if (last != null && !at.isBefore(last)) {
            long bin = Duration.between(last, at).toMillis() / binMs;
            if (bin < counts.length) {
                counts[(int) bin]++;
                inBounds++;
            } else {
                outOfBounds++;
            }
        }
        if (last == null || at.isAfter(last)) {
            last = at;
        }
    }

    /** When the last request came, or {@code null} before the first. */
    synchronized Instant last() {
        return last;
    }

    /** Idle times recorded, in and past the range. */
    synchronized long samples() {
        return inBounds + outOfBounds;
    }

    /** A copy of the bins' counts. */
    synchronized int[] counts() {
        return Arrays.copyOf(counts, counts.length);
    }
}
