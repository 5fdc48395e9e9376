package org.servicefarm.rest.internal;

import java.util.List;
import java.util.Set;

/**
 * The API's logical roles, as resource methods name them in {@code @RolesAllowed}, and the realm's
 * (JAAS) roles that grant them. They form a ladder: a viewer may read, an operator may also act
 * (ask for services), an admin may also manage the farm (add and remove hosts); each includes the
 * ones below, so a user needs only the highest. Which JAAS role grants which rung is configuration
 * ({@link RestConfig#viewerRole()} and the two after it).
 */
final class Roles {

    static final String VIEWER = "viewer";
    static final String OPERATOR = "operator";
    static final String ADMIN = "admin";

    /** Lowest first. */
    private static final List<String> LADDER = List.of(VIEWER, OPERATOR, ADMIN);

    /** The JAAS role of each rung, in the order of {@link #LADDER}. */
    private final List<String> jaasRoles;

    Roles(RestConfig config) {
        this.jaasRoles = List.of(config.viewerRole(), config.operatorRole(), config.adminRole());
    }

    /** The logical roles that the realm's roles {@code jaasRoles} grant: the highest rung held and all below it. */
    Set<String> granted(Set<String> jaasRoles) {
        for (int rung = LADDER.size() - 1; rung >= 0; rung--) {
            if (jaasRoles.contains(this.jaasRoles.get(rung))) {
                return Set.copyOf(LADDER.subList(0, rung + 1));
            }
        }
        return Set.of();
    }

    /**
     * The JAAS role a user needs for a method that allows the logical roles {@code allowed}: the one
     * of the lowest rung named, or {@code null} when none of them is a logical role.
     */
    String leastJaasRole(List<String> allowed) {
        for (int rung = 0; rung < LADDER.size(); rung++) {
            if (allowed.contains(LADDER.get(rung))) {
                return jaasRoles.get(rung);
            }
        }
        return null;
    }
}
