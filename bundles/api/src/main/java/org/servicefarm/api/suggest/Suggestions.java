package org.servicefarm.api.suggest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

/**
 * The nearest viable requests to one that is answered NEVER, so that a refusal can say what would work: the same
 * request with as few of the fields the client gave changed as possible (fields it left out stay left out, for the
 * directory to fill), ranked by how many fields differ. Other services are suggested only when the asked one is
 * unknown, and only names a slip of the keyboard away ("did you mean"). Each suggestion is checked by the directory
 * before it is returned, so it can be sent as it is.
 */
public final class Suggestions {

    /** At most this many suggestions for one refusal. */
    public static final int MAX = 3;
    /** The directory's offerings read for one refusal; the catalog's combinations are far fewer. */
    static final int CATALOG_LIMIT = 10_000;

    private Suggestions() {
    }

    /** Up to {@link #MAX} viable requests nearest to {@code asked}, nearest first; none when nothing is near. */
    public static List<ServiceRequest> nearest(DirectoryView directory, ServiceRequest asked) {
        List<ServiceRequest> suggestions = new ArrayList<>();
        for (ServiceRequest candidate : candidates(asked, directory.offerings(CATALOG_LIMIT))) {
            if (suggestions.size() == MAX) {
                break;
            }
            if (directory.resolve(candidate) instanceof Resolution.Viable) {
                suggestions.add(candidate);
            }
        }
        return suggestions;
    }

    /**
     * Every distinct request nearer than far, unchecked: fewest fields changed first, then the values spelled most
     * like the asked ones (a misspelt os gets the os it was meant to be), then the catalog's order.
     */
    static List<ServiceRequest> candidates(ServiceRequest asked, List<Offering> offerings) {
        boolean serviceKnown = offerings.stream().anyMatch(o -> o.service().equals(asked.service()));
        record Ranked(ServiceRequest request, int distance, int spelling, int order) {
        }
        List<Ranked> ranked = new ArrayList<>();
        for (int i = 0; i < offerings.size(); i++) {
            Offering offering = offerings.get(i);
            int distance;
            if (offering.service().equals(asked.service())) {
                distance = 0;
            } else if (!serviceKnown && typo(asked.service(), offering.service())) {
                distance = 1;
            } else {
                continue;
            }
            distance += differing(asked, offering);
            ranked.add(new Ranked(toward(asked, offering), distance, spelling(asked, offering), i));
        }
        ranked.sort(Comparator.comparingInt(Ranked::distance).thenComparingInt(Ranked::spelling)
                .thenComparingInt(Ranked::order));
        Set<ServiceRequest> distinct = new LinkedHashSet<>();
        ranked.forEach(r -> distinct.add(r.request()));
        distinct.remove(asked);
        return List.copyOf(distinct);
    }

    /** How many of the fields the client gave the offering does not have. */
    static int differing(ServiceRequest asked, Offering offering) {
        Environment env = asked.environment();
        int differing = 0;
        differing += differs(asked.version(), offering.version());
        differing += differs(env.os(), offering.environment().os());
        differing += differs(env.server(), offering.environment().server());
        differing += differs(env.runtime(), offering.environment().runtime());
        differing += differs(asked.securityLevel(), offering.securityLevel());
        for (String patch : env.patches()) {
            if (!offering.environment().patches().contains(patch)) {
                differing++;
            }
        }
        return differing;
    }

    /** How far the offering's values are spelled from the differing ones the client gave, in edits. */
    static int spelling(ServiceRequest asked, Offering offering) {
        Environment env = asked.environment();
        return edits(asked.service(), offering.service()) + edits(asked.version(), offering.version())
                + edits(env.os(), offering.environment().os()) + edits(env.server(), offering.environment().server())
                + edits(env.runtime(), offering.environment().runtime())
                + edits(asked.securityLevel(), offering.securityLevel());
    }

    private static int edits(String asked, String offered) {
        return asked == null ? 0 : editDistance(asked, offered);
    }

    private static int differs(String asked, String offered) {
        return asked != null && !asked.equals(offered) ? 1 : 0;
    }

    /** The request with each field it gave that the offering lacks changed to the offering's; tier and deadline kept. */
    static ServiceRequest toward(ServiceRequest asked, Offering offering) {
        Environment env = asked.environment();
        Environment offered = offering.environment();
        List<String> patches = env.patches().stream().filter(offered.patches()::contains).toList();
        if (patches.size() < env.patches().size()) {
            // a patch it asked for that this offering lacks: ask for the offering's patches instead
            patches = offered.patches();
        }
        Environment environment = new Environment(
                env.os() == null ? null : offered.os(),
                env.server() == null ? null : offered.server(),
                env.runtime() == null ? null : offered.runtime(),
                patches);
        return new ServiceRequest(offering.service(), asked.version() == null ? null : offering.version(), environment,
                asked.securityLevel() == null ? null : offering.securityLevel(), asked.tier(), asked.deadline());
    }

    /** True when {@code b} is a slip of the keyboard from {@code a}: within 2 edits, or a third of the name. */
    static boolean typo(String a, String b) {
        return !Objects.equals(a, b) && editDistance(a, b) <= Math.max(2, Math.min(a.length(), b.length()) / 3);
    }

    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
