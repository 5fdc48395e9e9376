package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.regex.Pattern;

import org.servicefarm.api.CatalogComponent.Kind;

/**
 * One compatibility rule of the service directory, parsed from text such as
 * {@code server:iis-* requires os:windows-2022} or
 * {@code security:high and os:debian-* requires patch:openssl-3.0.15}.
 *
 * <pre>
 * rule        := subject ('requires' | 'conflicts') alternatives
 * subject     := selector ('and' selector)*        all must match for the rule to apply
 * alternatives:= selector ('|' selector)*           requires: one must match; conflicts: none may
 * selector    := kind ':' glob ['@' glob]           kind: app, os, server, runtime, patch, security
 * </pre>
 */
record Rule(String name, String text, List<Selector> subject, boolean requires, List<Selector> alternatives) {

    /** Matches components of one kind by name glob and, for applications, version glob. */
    record Selector(Kind kind, Pattern name, Pattern version, String text) {

        boolean matches(Combination combination) {
            return combination.components(kind).stream().anyMatch(c -> name.matcher(c.name()).matches()
                    && (version == null || (c.version() != null && version.matcher(c.version()).matches())));
        }

        /** The single component this selector names, if it has no wildcard (used to add required patches). */
        String literalName() {
            String raw = text.substring(text.indexOf(':') + 1);
            return raw.contains("*") || raw.contains("@") ? null : raw;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    static Rule parse(String name, String text) {
        String trimmed = text.trim().replaceAll("\\s+", " ");
        String lower = trimmed.toLowerCase(Locale.ROOT);
        int at;
        boolean requires;
        if ((at = lower.indexOf(" requires ")) > 0) {
            requires = true;
        } else if ((at = lower.indexOf(" conflicts ")) > 0) {
            requires = false;
        } else {
            throw new IllegalArgumentException("rule " + name + " needs 'requires' or 'conflicts': " + text);
        }
        String verb = requires ? " requires " : " conflicts ";
        List<Selector> subject = new ArrayList<>();
        for (String part : trimmed.substring(0, at).split("(?i) and ")) {
            subject.add(selector(name, part));
        }
        List<Selector> alternatives = new ArrayList<>();
        for (String part : trimmed.substring(at + verb.length()).split("\\|")) {
            alternatives.add(selector(name, part));
        }
        return new Rule(name, trimmed, List.copyOf(subject), requires, List.copyOf(alternatives));
    }

    private static Selector selector(String rule, String raw) {
        String text = raw.trim();
        int colon = text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("rule " + rule + ": '" + text + "' is not kind:name");
        }
        String prefix = text.substring(0, colon).toLowerCase(Locale.ROOT);
        Kind kind = null;
        for (Kind k : Kind.values()) {
            if (k.prefix().equals(prefix)) {
                kind = k;
            }
        }
        if (kind == null) {
            throw new IllegalArgumentException("rule " + rule + ": unknown kind '" + prefix
                    + "' (use app, os, server, runtime, patch or security)");
        }
        String body = text.substring(colon + 1);
        int atSign = body.indexOf('@');
        Pattern version = atSign < 0 ? null : glob(body.substring(atSign + 1));
        String namePart = atSign < 0 ? body : body.substring(0, atSign);
        return new Selector(kind, glob(namePart), version, kind.prefix() + ":" + body);
    }

    private static Pattern glob(String glob) {
        StringJoiner regex = new StringJoiner(".*");
        for (String piece : glob.split("\\*", -1)) {
            regex.add(piece.isEmpty() ? "" : Pattern.quote(piece));
        }
        return Pattern.compile(regex.toString());
    }

    boolean applies(Combination combination) {
        return subject.stream().allMatch(s -> s.matches(combination));
    }

    /** True if the combination satisfies this rule. */
    boolean satisfiedBy(Combination combination) {
        if (!applies(combination)) {
            return true;
        }
        boolean anyAlternative = alternatives.stream().anyMatch(s -> s.matches(combination));
        return requires == anyAlternative;
    }

    @Override
    public String toString() {
        return name + ": " + text;
    }
}
