package org.servicefarm.rest.internal;

import java.util.Locale;
import java.util.Set;

/**
 * Who may do what: a viewer may read (GET), an operator may also act (ask for services), an
 * admin may also add and remove hosts. Each role includes the ones below it, so a user needs
 * only the highest one. Decided from the method and path alone, before resource matching, so
 * that an unknown path tells an anonymous client nothing.
 */
final class AccessPolicy {

    enum Need {
        VIEW, ACT, ADMINISTER
    }

    private final String viewerRole;
    private final String operatorRole;
    private final String adminRole;

    AccessPolicy(String viewerRole, String operatorRole, String adminRole) {
        this.viewerRole = viewerRole;
        this.operatorRole = operatorRole;
        this.adminRole = adminRole;
    }

    AccessPolicy(RestConfig config) {
        this(config.viewerRole(), config.operatorRole(), config.adminRole());
    }

    /**
     * What a request needs: reading methods need VIEW; changing hosts needs ADMINISTER; any other
     * change (requests, and resources this bundle does not know) needs ACT.
     *
     * @param path the request path relative to the application base, with or without a leading '/'
     */
    static Need need(String method, String path) {
        String verb = method.toUpperCase(Locale.ROOT);
        if (verb.equals("GET") || verb.equals("HEAD") || verb.equals("OPTIONS")) {
            return Need.VIEW;
        }
        String normalized = path.startsWith("/") ? path.substring(1) : path;
        if (normalized.equals("api/v1/hosts") || normalized.startsWith("api/v1/hosts/")) {
            return Need.ADMINISTER;
        }
        return Need.ACT;
    }

    boolean allows(Set<String> roles, Need need) {
        return switch (need) {
            case VIEW -> roles.contains(viewerRole) || roles.contains(operatorRole) || roles.contains(adminRole);
            case ACT -> roles.contains(operatorRole) || roles.contains(adminRole);
            case ADMINISTER -> roles.contains(adminRole);
        };
    }

    /** The least role that grants {@code need}, for the 403 message. */
    String roleFor(Need need) {
        return switch (need) {
            case VIEW -> viewerRole;
            case ACT -> operatorRole;
            case ADMINISTER -> adminRole;
        };
    }
}
