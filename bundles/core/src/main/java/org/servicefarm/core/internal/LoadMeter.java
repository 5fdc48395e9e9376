package org.servicefarm.core.internal;

/**
 * A VM's request rate in requests per minute, decaying exponentially with a one-minute time
 * constant: cheap to update on every grant, and it forgets bursts smoothly.
 */
final class LoadMeter {
    private static final double TAU_NANOS = 60e9;
    private double rate;
    private long lastNanos;

    LoadMeter(long nowNanos) {
        this.lastNanos = nowNanos;
    }

    synchronized void record(long nowNanos) {
        decay(nowNanos);
        rate += 1.0;
    }

    /** Requests per minute. */
    synchronized double perMinute(long nowNanos) {
        decay(nowNanos);
        return rate * 60e9 / TAU_NANOS;
    }

    private void decay(long nowNanos) {
        long dt = nowNanos - lastNanos;
        if (dt > 0) {
            rate *= Math.exp(-dt / TAU_NANOS);
            lastNanos = nowNanos;
        }
    }
}
