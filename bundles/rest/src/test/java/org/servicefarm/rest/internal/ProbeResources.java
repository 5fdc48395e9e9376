package org.servicefarm.rest.internal;

import java.util.List;
import java.util.Map;

import javax.annotation.security.PermitAll;
import javax.annotation.security.RolesAllowed;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.SecurityContext;

/** Test-only resources beside the API: what a request's login looks like, and methods that declare roles oddly. */
final class ProbeResources {

    private ProbeResources() {
    }

    /** What another bundle's resource in the whiteboard's default application (such as /metrics) stands for. */
    @Path("elsewhere")
    @Produces(MediaType.APPLICATION_JSON)
    public static class Elsewhere {

        @GET
        @RolesAllowed(Roles.VIEWER)
        public Map<String, String> get() {
            return Map.of("application", "default");
        }
    }

    /** Methods whose declarations the role check must refuse or honour. */
    @Path("probe")
    @Produces(MediaType.APPLICATION_JSON)
    public static class Methods {

        /** The login as the resource sees it: user, scheme and the logical roles granted. */
        @GET
        @Path("whoami")
        @RolesAllowed(Roles.VIEWER)
        public Map<String, Object> whoami(@Context SecurityContext security) {
            return Map.of("user", security.getUserPrincipal().getName(),
                    "scheme", security.getAuthenticationScheme(),
                    "roles", List.of(Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN).stream()
                            .filter(security::isUserInRole).toList());
        }

        @GET
        @Path("undeclared")
        public String undeclared() {
            return "\"reached\"";
        }

        @POST
        @Path("undeclared")
        public String undeclaredPost() {
            return "\"reached\"";
        }

        /** PermitAll is not a role: nothing but RolesAllowed opens a method. */
        @GET
        @Path("permit-all")
        @PermitAll
        public String permitAll() {
            return "\"reached\"";
        }

        @GET
        @Path("unknown-role")
        @RolesAllowed("root")
        public String unknownRole() {
            return "\"reached\"";
        }

        @GET
        @Path("no-role")
        @RolesAllowed({})
        public String noRole() {
            return "\"reached\"";
        }

        /** Either of two roles: the lower one suffices. */
        @GET
        @Path("either")
        @RolesAllowed({Roles.ADMIN, Roles.OPERATOR})
        public String either() {
            return "\"reached\"";
        }
    }

    /** A class that declares the role of the methods that declare none. */
    @Path("probe-class")
    @Produces(MediaType.APPLICATION_JSON)
    @RolesAllowed(Roles.OPERATOR)
    public static class ClassLevel {

        @GET
        public String inherited() {
            return "\"reached\"";
        }

        @GET
        @Path("viewer")
        @RolesAllowed(Roles.VIEWER)
        public String ownRole() {
            return "\"reached\"";
        }
    }
}
