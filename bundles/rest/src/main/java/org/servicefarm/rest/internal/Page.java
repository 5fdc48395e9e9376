package org.servicefarm.rest.internal;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * One page of a listing in the order of its items' keys: those after the key a client last read ({@code after}), at
 * most {@code size} of them, and the query of the next page ({@code null} on the last).
 */
record Page<T>(List<T> items, String next) {

    /**
     * The page of {@code items} after {@code after} (from the start when null or empty); {@code nextQuery} makes the
     * next page's query from the page's last key, given URL-encoded.
     */
    static <T> Page<T> of(Stream<T> items, Function<T, String> key, String after, int size,
                          Function<String, String> nextQuery) {
        boolean fromStart = after == null || after.isEmpty();
        List<T> read = items.filter(item -> fromStart || key.apply(item).compareTo(after) > 0)
                .sorted(Comparator.comparing(key)).limit(size + 1L).toList();
        if (read.size() <= size) {
            return new Page<>(read, null);
        }
        List<T> page = read.subList(0, size);
        return new Page<>(page, nextQuery.apply(encoded(key.apply(page.get(size - 1)))));
    }

    /** {@code text} as a query parameter's value. */
    static String encoded(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
