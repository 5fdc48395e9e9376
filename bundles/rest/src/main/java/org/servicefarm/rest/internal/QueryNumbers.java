package org.servicefarm.rest.internal;

import org.servicefarm.api.InvalidRequestException;

/**
 * Whole numbers in query parameters, taken as text: JAX-RS answers a malformed numeric query parameter with 404,
 * where this API promises 400 with a problem saying which parameter and why.
 */
final class QueryNumbers {

    private QueryNumbers() {
    }

    /** {@code text} as a whole number from {@code min} to {@code max}; {@code absent} when it is missing or blank. */
    static long whole(String name, String text, long min, long max, long absent) {
        if (text == null || text.isBlank()) {
            return absent;
        }
        long value;
        try {
            value = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new InvalidRequestException(name, name + " must be a whole number from " + min + " to " + max);
        }
        if (value < min || value > max) {
            throw new InvalidRequestException(name, name + " must be from " + min + " to " + max + ", not " + value);
        }
        return value;
    }
}
