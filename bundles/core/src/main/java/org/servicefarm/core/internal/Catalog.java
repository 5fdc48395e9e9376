package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

/**
 * The directory's model: components and compatibility rules. Viability is computed by checking
 * candidate combinations against the rules, never looked up in a list of combinations.
 * Immutable; a new configuration makes a new catalog.
 */
final class Catalog {

    /** Patches are added to satisfy rules at most this many times per combination (rules could loop). */
    private static final int MAX_PATCH_ROUNDS = 16;

    /** Application name to its versions, newest first (as configured). */
    private final Map<String, List<String>> applications;
    private final List<String> operatingSystems;
    private final List<String> servers;
    private final List<String> runtimes;
    private final List<String> patches;
    private final List<String> securityLevels;
    private final String defaultSecurityLevel;
    private final List<Rule> rules;

    Catalog(List<String> applications, List<String> operatingSystems, List<String> servers, List<String> runtimes,
            List<String> patches, List<String> securityLevels, String defaultSecurityLevel, List<Rule> rules) {
        Map<String, List<String>> apps = new LinkedHashMap<>();
        for (String entry : applications) {
            int at = entry.indexOf('@');
            if (at <= 0 || at == entry.length() - 1) {
                throw new IllegalArgumentException("application '" + entry + "' must be name@version");
            }
            apps.computeIfAbsent(entry.substring(0, at), k -> new ArrayList<>()).add(entry.substring(at + 1));
        }
        this.applications = Collections.unmodifiableMap(apps);
        this.operatingSystems = List.copyOf(operatingSystems);
        this.servers = List.copyOf(servers);
        this.runtimes = List.copyOf(runtimes);
        this.patches = List.copyOf(patches);
        this.securityLevels = List.copyOf(securityLevels);
        if (!securityLevels.contains(defaultSecurityLevel)) {
            throw new IllegalArgumentException("default security level '" + defaultSecurityLevel
                    + "' is not one of " + securityLevels);
        }
        this.defaultSecurityLevel = defaultSecurityLevel;
        this.rules = List.copyOf(rules);
        for (Kind kind : List.of(Kind.OS, Kind.SERVER, Kind.RUNTIME)) {
            if (names(kind).isEmpty()) {
                throw new IllegalArgumentException("the catalog names no " + kind.name().toLowerCase() + " component");
            }
        }
    }

    List<Rule> rules() {
        return rules;
    }

    List<String> securityLevels() {
        return securityLevels;
    }

    List<CatalogComponent> components() {
        List<CatalogComponent> all = new ArrayList<>();
        applications.forEach((app, versions) -> versions.forEach(v -> all.add(new CatalogComponent(Kind.APPLICATION, app, v))));
        operatingSystems.forEach(n -> all.add(new CatalogComponent(Kind.OS, n, null)));
        servers.forEach(n -> all.add(new CatalogComponent(Kind.SERVER, n, null)));
        runtimes.forEach(n -> all.add(new CatalogComponent(Kind.RUNTIME, n, null)));
        patches.forEach(n -> all.add(new CatalogComponent(Kind.PATCH, n, null)));
        securityLevels.forEach(n -> all.add(new CatalogComponent(Kind.SECURITY, n, null)));
        return all;
    }

    private List<String> names(Kind kind) {
        return switch (kind) {
            case APPLICATION -> List.copyOf(applications.keySet());
            case OS -> operatingSystems;
            case SERVER -> servers;
            case RUNTIME -> runtimes;
            case PATCH -> patches;
            case SECURITY -> securityLevels;
        };
    }

    /**
     * Resolves a request: the first viable combination in configuration order (newest version
     * first) among those matching every field the request sets.
     */
    Resolution resolve(ServiceRequest request) {
        String app = request.service();
        List<String> versions = applications.get(app);
        if (versions == null) {
            return new Resolution.NotViable("unknown service '" + app + "'; the directory offers " + applications.keySet());
        }
        Environment env = request.environment();
        Optional<String> unknown = unknownName("version of " + app, request.version(), versions)
                .or(() -> unknownName("os", env.os(), operatingSystems))
                .or(() -> unknownName("server", env.server(), servers))
                .or(() -> unknownName("runtime", env.runtime(), runtimes))
                .or(() -> unknownName("security level", request.securityLevel(), securityLevels))
                .or(() -> env.patches().stream().map(p -> unknownName("patch", p, patches))
                        .flatMap(Optional::stream).findFirst());
        if (unknown.isPresent()) {
            return new Resolution.NotViable(unknown.get());
        }
        String security = request.securityLevel() == null ? defaultSecurityLevel : request.securityLevel();
        Violation first = null;
        int checked = 0;
        for (String version : choices(request.version(), versions)) {
            for (String os : choices(env.os(), operatingSystems)) {
                for (String server : choices(env.server(), servers)) {
                    for (String runtime : choices(env.runtime(), runtimes)) {
                        checked++;
                        Combination candidate = new Combination(app, version, os, server, runtime,
                                new TreeSet<>(env.patches()), security);
                        Violation violation = check(candidate);
                        if (violation.rule == null) {
                            Offering offering = violation.combination.toOffering();
                            return new Resolution.Viable(offering, offering.filledIn(request));
                        }
                        if (first == null) {
                            first = violation;
                        }
                    }
                }
            }
        }
        String what = first.combination.toOffering().key();
        return new Resolution.NotViable(checked == 1
                ? what + " breaks rule " + first.rule
                : "none of the " + checked + " combinations matching the request is viable; the first, " + what
                        + ", breaks rule " + first.rule);
    }

    /** Up to {@code limit} viable offerings: every application, version, security level and environment. */
    List<Offering> offerings(int limit) {
        List<Offering> result = new ArrayList<>();
        for (Map.Entry<String, List<String>> app : applications.entrySet()) {
            for (String version : app.getValue()) {
                for (String security : securityLevels) {
                    for (String os : operatingSystems) {
                        for (String server : servers) {
                            for (String runtime : runtimes) {
                                if (result.size() >= limit) {
                                    return result;
                                }
                                Violation v = check(new Combination(app.getKey(), version, os, server, runtime,
                                        new TreeSet<>(), security));
                                if (v.rule == null) {
                                    result.add(v.combination.toOffering());
                                }
                            }
                        }
                    }
                }
            }
        }
        return result;
    }

    /** The result of checking a candidate: the candidate with required patches added, and the first rule it breaks. */
    private record Violation(Combination combination, Rule rule) {
    }

    /**
     * Checks every rule. A broken 'requires' rule whose first alternative is a plain patch adds
     * that patch (a security level asking for a patch is met by applying it), then checks again.
     */
    private Violation check(Combination candidate) {
        Combination current = candidate;
        for (int round = 0; round < MAX_PATCH_ROUNDS; round++) {
            Rule broken = null;
            for (Rule rule : rules) {
                if (!rule.satisfiedBy(current)) {
                    broken = rule;
                    break;
                }
            }
            if (broken == null) {
                return new Violation(current, null);
            }
            String patch = patchThatSatisfies(broken);
            if (patch == null || current.patches().contains(patch)) {
                return new Violation(current, broken);
            }
            current = current.withPatch(patch);
        }
        return new Violation(current, rules.stream().filter(r -> !r.satisfiedBy(candidate)).findFirst().orElseThrow());
    }

    private String patchThatSatisfies(Rule rule) {
        if (!rule.requires()) {
            return null;
        }
        for (Rule.Selector alternative : rule.alternatives()) {
            String literal = alternative.literalName();
            if (alternative.kind() == Kind.PATCH && literal != null && patches.contains(literal)) {
                return literal;
            }
        }
        return null;
    }

    private static List<String> choices(String wanted, List<String> all) {
        return wanted == null ? all : List.of(wanted);
    }

    private static Optional<String> unknownName(String what, String value, List<String> known) {
        return value == null || known.contains(value) ? Optional.empty()
                : Optional.of("unknown " + what + " '" + value + "'; known: " + known);
    }
}
