package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.servicefarm.api.Names;

/**
 * Which plug-in targets match no service: a component's reference whose target its configuration gives (e.g.
 * {@code placement.target = (placement.name=binpak)}) and that no service installed matches, for {@link #GRACE_NANOS}
 * in a row. Declarative Services then leaves an optional reference unbound (the component runs on its own fallback,
 * or without the plug-in: no keep-alive policy means VMs never sleep) and a mandatory one unsatisfied, and says
 * nothing: the operator learns it here, as a refusal of the configuration. The grace lets a bundle being updated or
 * swapped, or still starting, come back first. The state: when each target was first seen matching nothing.
 */
final class PluginTargets {

    /** How long a target must match nothing before it is refused. */
    static final long GRACE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    /** The attributes a filter tests: {@code (name=…)}, {@code (name>=…)}, {@code (name~=…)}. */
    private static final Pattern ATTRIBUTE = Pattern.compile("\\(\\s*([^()=<>~\\s]+)\\s*[<>~]?=");

    /**
     * A reference of a component configuration with the target its configuration gives it.
     *
     * @param pid           the component's configuration pid
     * @param reference     the reference's name (its target property is {@code <reference>.target})
     * @param interfaceName the service interface it takes
     * @param target        the target filter
     * @param optional      whether the component runs without it (otherwise it is not active)
     * @param without       what the component runs on without it, in its own words, or null
     */
    record Wanted(String pid, String reference, String interfaceName, String target, boolean optional,
                  String without) {
    }

    /** A configuration's targets that matched nothing for the grace, together: one refusal per pid. */
    record Refusal(String pid, String reason, String inForce) {
    }

    private final Map<Wanted, Long> firstUnmatched = new java.util.HashMap<>();

    /**
     * Why {@code wanted}'s target matches none of the services installed under its interface (their properties), or
     * empty when one matches.
     */
    static Optional<String> unmatched(Wanted wanted, List<Map<String, Object>> installed) {
        String property = wanted.reference() + ".target " + Names.excerpt(wanted.target(), 200);
        Filter filter;
        try {
            filter = FrameworkUtil.createFilter(wanted.target());
        } catch (InvalidSyntaxException e) {
            return Optional.of(property + " is not an LDAP filter: " + Names.excerpt(e.getMessage(), 200));
        }
        if (installed.stream().anyMatch(filter::matches)) {
            return Optional.empty();
        }
        String type = wanted.interfaceName().substring(wanted.interfaceName().lastIndexOf('.') + 1);
        if (installed.isEmpty()) {
            return Optional.of(property + " matches nothing: no " + type + " service is installed");
        }
        return Optional.of(property + " matches none of the " + installed.size() + " " + type + " service"
                + (installed.size() == 1 ? "" : "s") + " installed" + named(wanted.target(), installed));
    }

    /** What the installed services are called by the attributes the target tests: {@code (placement.name: a, b)}. */
    private static String named(String target, List<Map<String, Object>> installed) {
        Set<String> attributes = new LinkedHashSet<>();
        Matcher m = ATTRIBUTE.matcher(target);
        while (m.find()) {
            attributes.add(m.group(1));
        }
        List<String> shown = new ArrayList<>();
        for (String attribute : attributes) {
            Set<String> values = new TreeSet<>();
            for (Map<String, Object> service : installed) {
                service.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(attribute))
                        .forEach(e -> values.add(Names.excerpt(shown(e.getValue()), 60)));
            }
            if (!values.isEmpty()) {
                shown.add(attribute + ": " + String.join(", ", values));
            }
        }
        return shown.isEmpty() ? "" : " (" + String.join("; ", shown) + ")";
    }

    /** A service property's value as text; an array's or a collection's elements joined (objectClass is one). */
    private static String shown(Object value) {
        if (value instanceof Object[] array) {
            return String.join(",", java.util.Arrays.stream(array).map(String::valueOf).toList());
        }
        if (value instanceof java.util.Collection<?> collection) {
            return String.join(",", collection.stream().map(String::valueOf).toList());
        }
        return String.valueOf(value);
    }

    /**
     * The refusals due now: the configurations with targets that matched nothing in every call since at least
     * {@link #GRACE_NANOS} ago, their reasons joined. A target not passed again is forgotten (it matched).
     *
     * @param unmatched each wanted reference whose target matches nothing now, with why ({@link #unmatched})
     */
    Map<String, Refusal> due(Map<Wanted, String> unmatched, long nanos) {
        Map<String, List<Map.Entry<Wanted, String>>> byPid = new LinkedHashMap<>();
        for (Map.Entry<Wanted, String> entry : unmatched.entrySet()) {
            long since = firstUnmatched.computeIfAbsent(entry.getKey(), k -> nanos);
            if (nanos - since >= GRACE_NANOS) {
                byPid.computeIfAbsent(entry.getKey().pid(), k -> new ArrayList<>()).add(entry);
            }
        }
        firstUnmatched.keySet().retainAll(unmatched.keySet());
        Map<String, Refusal> due = new java.util.TreeMap<>();
        byPid.forEach((pid, entries) -> {
            entries.sort(Map.Entry.comparingByValue());
            List<String> reasons = entries.stream().map(Map.Entry::getValue).toList();
            List<String> inForce = entries.stream().map(e -> inForce(e.getKey())).distinct().toList();
            due.put(pid, new Refusal(pid, String.join("; ", reasons), String.join("; ", inForce)));
        });
        return due;
    }

    private static String inForce(Wanted wanted) {
        if (wanted.without() != null && !wanted.without().isBlank()) {
            return wanted.without();
        }
        return wanted.optional() ? "the component runs without a " + wanted.reference()
                : "the component is not active: it needs a " + wanted.reference();
    }
}
