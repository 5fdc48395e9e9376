package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name value} options of the replay's commands: only the names a command knows, each at most once unless
 * it may repeat, and each value checked where it is read, so that a typo or a bad number is one plain line naming the
 * option, never ignored and never Java's "For input string".
 */
final class CommandLine {

    /** An option the command cannot take: said with the command's usage. */
    static final class Invalid extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Invalid(String problem) {
            super(problem);
        }
    }

    private final Map<String, String> values;
    private final Map<String, List<String>> repeated;

    CommandLine(Map<String, String> values) {
        this(values, Map.of());
    }

    private CommandLine(Map<String, String> values, Map<String, List<String>> repeated) {
        this.values = values;
        this.repeated = repeated;
    }

    /** {@code args} as {@code --name value} pairs; {@code names} are the options known, {@code repeatable} among them. */
    static CommandLine parse(String[] args, Set<String> names, Set<String> repeatable) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, List<String>> repeated = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            String arg = args[i];
            String name = arg.startsWith("--") ? arg.substring(2) : null;
            if (name == null || !names.contains(name)) {
                throw new Invalid("unknown option '" + arg + "'");
            }
            if (i + 1 == args.length) {
                throw new Invalid(arg + " needs a value");
            }
            String value = args[i + 1];
            if (repeatable.contains(name)) {
                repeated.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
            } else if (values.putIfAbsent(name, value) != null) {
                throw new Invalid(arg + " is given twice");
            }
        }
        return new CommandLine(values, repeated);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    String text(String name, String otherwise) {
        return values.getOrDefault(name, otherwise);
    }

    /** A repeatable option's values, in the order given. */
    List<String> all(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    /** A whole number from {@code min} to {@code max}; {@code otherwise} when not given. */
    long whole(String name, long otherwise, long min, long max) {
        return checked(name, otherwise, Long::valueOf, min, max, "a whole number");
    }

    /** A number from {@code min} to {@code max}; {@code otherwise} when not given. */
    double number(String name, double otherwise, double min, double max) {
        return checked(name, otherwise, Double::valueOf, min, max, "a number"); // NaN compares above any max
    }

    private <T extends Number & Comparable<T>> T checked(String name, T otherwise,
                                                         java.util.function.Function<String, T> parse,
                                                         T min, T max, String kind) {
        String value = values.get(name);
        if (value == null) {
            return otherwise;
        }
        try {
            T n = parse.apply(value.strip());
            if (n.compareTo(min) >= 0 && n.compareTo(max) <= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new Invalid("--" + name + " must be " + kind + range(min.doubleValue(), max.doubleValue()) + ", not '"
                + value + "'");
    }

    /** One of {@code allowed}; {@code otherwise} when not given. */
    String choice(String name, String otherwise, String... allowed) {
        String value = values.getOrDefault(name, otherwise);
        if (!List.of(allowed).contains(value)) {
            throw new Invalid("--" + name + " must be " + String.join(" or ", allowed) + ", not '" + value + "'");
        }
        return value;
    }

    /** " of at least 1", " from 0 to 24" or nothing: the bounds a value failed, as a sentence ends. */
    private static String range(double min, double max) {
        boolean noMin = min <= Long.MIN_VALUE;
        boolean noMax = max >= Long.MAX_VALUE;
        if (noMin && noMax) {
            return "";
        }
        return noMax ? " of at least " + format(min) : noMin ? " of at most " + format(max)
                : " from " + format(min) + " to " + format(max);
    }

    private static String format(double n) {
        return n == Math.rint(n) ? String.valueOf((long) n) : String.format(Locale.ROOT, "%s", n);
    }
}
