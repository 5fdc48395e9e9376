package org.servicefarm.api.keepalive;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * One combination's idle times (the time from one request to the next) as a histogram of one-minute bins, by default
 * {@link #BINS} of them covering four hours, as in Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020), or of
 * bins of another width; longer idle times are counted as out of bounds. Shared by the policies that learn from it. Thread-safe: requests are recorded from the
 * request path while the lifecycle reads.
 */
public final class IdleTimes {

    /** One-minute bins over four hours: the paper's range. */
    public static final int BINS = 240;
    public static final Duration BIN = Duration.ofMinutes(1);

    private final long binMs;
    private final int[] counts;
    private long inBounds;
    private long outOfBounds;
    private long sumMs;
    private Instant last;

    /** The paper's range: four hours. */
    public IdleTimes() {
        this(BINS);
    }

    /** A range of {@code bins} minutes. */
    public IdleTimes(int bins) {
        this(bins, BIN);
    }

    /** A range of {@code bins} bins {@code bin} wide each (at least a millisecond). */
    public IdleTimes(int bins, Duration bin) {
        if (bins < 1 || bin.toMillis() < 1) {
            throw new IllegalArgumentException("an idle-time histogram needs at least one bin of at least 1 ms");
        }
        binMs = bin.toMillis();
        counts = new int[bins];
    }

    /** How many bins the range has. */
    public int bins() {
        return counts.length;
    }

    /** How wide each bin is. */
    public Duration bin() {
        return Duration.ofMillis(binMs);
    }

    /** Records a request at {@code at}: the idle time since the previous one, if any, goes into its bin. */
    public synchronized void record(Instant at) {
        record(at, at);
    }

    /**
     * Records a combination busy from {@code at} to {@code busyUntil}: the idle time from the end of the previous busy
     * spell to {@code at}, if any, goes into its bin, and idle times are counted from {@code busyUntil} on. A request
     * within the busy spell adds no idle time.
     */
    public synchronized void record(Instant at, Instant busyUntil) {
        if (busyUntil.isBefore(at)) {
            throw new IllegalArgumentException("a busy spell ends at or after it starts: " + at + " to " + busyUntil);
        }
        if (last != null && !at.isBefore(last)) {
            long idleMs = Duration.between(last, at).toMillis();
            sumMs += idleMs;
            long bin = idleMs / binMs;
            if (bin < counts.length) {
                counts[(int) bin]++;
                inBounds++;
            } else {
                outOfBounds++;
            }
        }
        if (last == null || busyUntil.isAfter(last)) {
            last = busyUntil;
        }
    }

    /** When the last request came, or {@code null} before the first. */
    public synchronized Instant last() {
        return last;
    }

    /** Idle times recorded within the range. */
    public synchronized long inBounds() {
        return inBounds;
    }

    /** Idle times recorded past the range. */
    public synchronized long outOfBounds() {
        return outOfBounds;
    }

    /** The mean of the idle times recorded, within the range and past it; zero without any. */
    public synchronized Duration mean() {
        long all = inBounds + outOfBounds;
        return all == 0 ? Duration.ZERO : Duration.ofMillis(sumMs / all);
    }

    /** A copy of the bins' counts. */
    public synchronized int[] counts() {
        return Arrays.copyOf(counts, counts.length);
    }

    /** The fraction of idle times past the range; 0 without any. */
    public synchronized double outOfBoundsFraction() {
        long all = inBounds + outOfBounds;
        return all == 0 ? 0 : (double) outOfBounds / all;
    }

    /**
     * The coefficient of variation of the bins' counts (standard deviation over mean): high when the idle times
     * gather in a few bins (a pattern), low when they spread evenly; 0 without any.
     */
    public synchronized double binCountVariation() {
        if (inBounds == 0) {
            return 0;
        }
        double mean = (double) inBounds / counts.length;
        double squares = 0;
        for (int count : counts) {
            squares += (count - mean) * (count - mean);
        }
        return Math.sqrt(squares / counts.length) / mean;
    }

    /**
     * The bin in which the {@code percentile} (0 to 100) of the in-range idle times falls: the smallest bin whose
     * cumulative count reaches that share; -1 without any.
     */
    public synchronized int percentileBin(double percentile) {
        if (inBounds == 0) {
            return -1;
        }
        double wanted = Math.max(1, Math.ceil(percentile / 100 * inBounds));
        long cumulative = 0;
        for (int bin = 0; bin < counts.length; bin++) {
            cumulative += counts[bin];
            if (cumulative >= wanted) {
                return bin;
            }
        }
        return counts.length - 1;
    }
}
