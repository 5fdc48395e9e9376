package org.servicefarm.core.internal;

import java.time.Duration;

/** How long an operation takes: a moving average of the measured ones, seeded with a configured guess. */
final class DurationEstimate {
    private static final double WEIGHT = 0.3;
    private volatile double millis;

    DurationEstimate(Duration seed) {
        this.millis = seed.toMillis();
    }

    void record(Duration measured) {
        millis = millis * (1 - WEIGHT) + measured.toMillis() * WEIGHT;
    }

    Duration get() {
        return Duration.ofMillis(Math.round(millis));
    }
}
