package org.servicefarm.api;

import java.util.regex.Pattern;

/**
 * The grammar of names a client passes in (services, versions, components, security levels,
 * tiers, hosts), and a safe excerpt of untrusted text for messages. Names are checked where they
 * enter the API records, so nothing downstream (directory, hypervisor XML, file paths, logs,
 * DNS labels) ever sees anything but these characters.
 */
public final class Names {

    /** The longest name accepted. */
    public static final int MAX_LENGTH = 63;
    /** How much of an untrusted value an error message repeats. */
    public static final int EXCERPT_LENGTH = 40;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0," + (MAX_LENGTH - 1) + "}");

    private Names() {
    }

    /** True when {@code value} is a name: 1-63 letters, digits, '.', '_', '+' or '-', starting with a letter or digit. */
    public static boolean valid(String value) {
        return value != null && NAME.matcher(value).matches();
    }

    /**
     * Returns {@code value} when it is a name or {@code null} (an optional field left out).
     *
     * @throws InvalidRequestException naming {@code field}, without repeating the value
     */
    public static String optional(String field, String value) {
        if (value != null && !valid(value)) {
            throw new InvalidRequestException(field, field + " must be 1-" + MAX_LENGTH
                    + " letters, digits, '.', '_', '+' or '-', starting with a letter or digit");
        }
        return value;
    }

    /**
     * Returns {@code value} when it is a name.
     *
     * @throws InvalidRequestException naming {@code field} when it is missing, blank or not a name
     */
    public static String required(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidRequestException(field, field + " is required");
        }
        return optional(field, value);
    }

    /**
     * The constant of {@code type} that {@code name} names, in any case and with surrounding blanks ignored, or
     * {@code null} when it is absent or empty (an optional choice left out).
     *
     * @param what what the constants are, for the message ("VM state")
     * @throws InvalidRequestException naming {@code field}: "unknown VM state 'X'; one of [...]"
     */
    public static <E extends Enum<E>> E constant(Class<E> type, String field, String what, String name) {
        if (name == null || name.isEmpty()) {
            return null;
        }
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(name.strip())) {
                return constant;
            }
        }
        throw new InvalidRequestException(field, "unknown " + what + " '" + excerpt(name) + "'; one of "
                + java.util.Arrays.toString(type.getEnumConstants()));
    }

    /**
     * Untrusted text made safe to repeat in a message or a log: at most {@value #EXCERPT_LENGTH}
     * characters (then "…"), control and non-ASCII characters written as {@code \\uXXXX}.
     */
    public static String excerpt(String text) {
        return excerpt(text, EXCERPT_LENGTH);
    }

    /**
     * Like {@link #excerpt(String)} but keeping up to {@code maxLength} characters: for longer text
     * that is safe to show but comes from outside (a hypervisor's error message, a URI), so that no
     * message or log line carries a raw control character (a NUL, a line break that forges a log
     * line, a terminal escape).
     */
    public static String excerpt(String text, int maxLength) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), maxLength) + 8);
        int shown = 0;
        for (int i = 0; i < text.length(); i++) {
            if (shown == maxLength) {
                return out.append('…').toString();
            }
            char c = text.charAt(i);
            if (c < 0x20 || c >= 0x7f) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
            shown++;
        }
        return out.toString();
    }
}
