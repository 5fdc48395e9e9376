package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.servicefarm.rest.internal.Responses.problem;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.SecurityContext;
import javax.ws.rs.core.UriInfo;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.osgi.util.converter.Converters;

import com.fasterxml.jackson.databind.JsonNode;

class LoginFilterTest {

    /** What the filter did to one request. */
    static final class Call {
        Response aborted;
        SecurityContext security;
    }

    @BeforeEach
    void resetCount() {
        TestLoginModule.LOGINS.set(0);
    }

    @ParameterizedTest(name = "{0} {1} {2} -> {3}")
    @CsvSource({
            "viewer,   GET,    api/v1/vms,          200",
            "viewer,   GET,    /api/v1/catalog/offerings, 200",
            "viewer,   POST,   api/v1/requests,     403",
            "viewer,   POST,   api/v1/hosts,        403",
            "operator, GET,    api/v1/hosts,        200",
            "operator, POST,   api/v1/requests,     200",
            "operator, POST,   api/v1/hosts,        403",
            "operator, DELETE, api/v1/hosts/host-a, 403",
            "admin,    GET,    api/v1/vms,          200",
            "admin,    POST,   api/v1/requests,     200",
            "admin,    POST,   api/v1/hosts,        200",
            "admin,    DELETE, /api/v1/hosts/host-a, 200",
            "guest,    GET,    api/v1/vms,          403",
            "operator, PUT,    api/v1/unknown,      200",
            "viewer,   PUT,    api/v1/unknown,      403",
    })
    void rolesDecideWhoMayDoWhat(String user, String method, String path, int expected) {
        LoginFilter filter = filter(Map.of());

        Call call = send(filter, method, path, basic(user, user + "-pw"));

        if (expected == 200) {
            assertNull(call.aborted, () -> "unexpected " + call.aborted.getStatus());
            assertEquals(user, call.security.getUserPrincipal().getName());
            assertEquals(SecurityContext.BASIC_AUTH, call.security.getAuthenticationScheme());
        } else {
            JsonNode problem = problem(call.aborted, expected);
            assertTrue(problem.get("detail").asText().contains(user), problem.toString());
        }
    }

    @Test
    void noCredentialsIs401WithBasicChallenge() {
        Call call = send(filter(Map.of()), "GET", "api/v1/vms", null);

        problem(call.aborted, 401);
        assertEquals("Basic realm=\"servicefarm\"", call.aborted.getHeaderString("WWW-Authenticate"));
        assertEquals(0, TestLoginModule.LOGINS.get());
    }

    @Test
    void wrongPasswordIs401() {
        Call call = send(filter(Map.of()), "GET", "api/v1/vms", basic("admin", "guess"));

        problem(call.aborted, 401);
        assertEquals("Basic realm=\"servicefarm\"", call.aborted.getHeaderString("WWW-Authenticate"));
    }

    @Test
    void malformedAuthorizationIs401() {
        LoginFilter filter = filter(Map.of());

        problem(send(filter, "GET", "api/v1/vms", "Bearer abc").aborted, 401);
        problem(send(filter, "GET", "api/v1/vms", "Basic !!!not-base64").aborted, 401);
        problem(send(filter, "GET", "api/v1/vms", "Basic " + Base64.getEncoder()
                .encodeToString("no-colon".getBytes(StandardCharsets.UTF_8))).aborted, 401);
        assertEquals(0, TestLoginModule.LOGINS.get());
    }

    @Test
    void roleNamesAndRealmAreConfigurable() {
        LoginFilter filter = filter(Map.of("realm", "farm", "viewerRole", "readers"));

        assertNull(send(filter, "GET", "api/v1/vms", basic("reader", "reader-pw")).aborted);
        problem(send(filter, "GET", "api/v1/vms", basic("viewer", "viewer-pw")).aborted, 403);
    }

    @Test
    void unknownRealmRefusesEveryone() {
        LoginFilter filter = filter(Map.of("realm", "nowhere"));

        problem(send(filter, "GET", "api/v1/vms", basic("admin", "admin-pw")).aborted, 401);
    }

    @Test
    void aSuccessfulLoginIsCachedAndAFailedOneIsNot() {
        LoginFilter filter = filter(Map.of());

        for (int i = 0; i < 5; i++) {
            assertNull(send(filter, "POST", "api/v1/requests", basic("operator", "operator-pw")).aborted);
        }
        assertEquals(1, TestLoginModule.LOGINS.get());

        for (int i = 0; i < 3; i++) {
            problem(send(filter, "GET", "api/v1/vms", basic("operator", "wrong")).aborted, 401);
        }
        assertEquals(4, TestLoginModule.LOGINS.get());
    }

    @Test
    void cacheOffLogsInEveryTime() {
        LoginFilter filter = filter(Map.of("loginCacheSeconds", 0));

        send(filter, "GET", "api/v1/vms", basic("viewer", "viewer-pw"));
        send(filter, "GET", "api/v1/vms", basic("viewer", "viewer-pw"));

        assertEquals(2, TestLoginModule.LOGINS.get());
    }

    @Test
    void cachedLoginStillGetsTheRoleCheck() {
        LoginFilter filter = filter(Map.of());
        assertNull(send(filter, "GET", "api/v1/vms", basic("viewer", "viewer-pw")).aborted);

        Call call = send(filter, "POST", "api/v1/requests", basic("viewer", "viewer-pw"));

        problem(call.aborted, 403);
        assertEquals(1, TestLoginModule.LOGINS.get());
    }

    private static LoginFilter filter(Map<String, Object> properties) {
        RestConfig config = Converters.standardConverter().convert(new HashMap<>(properties)).to(RestConfig.class);
        return new LoginFilter(config, TestLoginModule.configuration("karaf", "farm"));
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** Runs the filter on a request context that answers only what a pre-matching filter may ask. */
    private static Call send(LoginFilter filter, String method, String path, String authorization) {
        Call call = new Call();
        UriInfo uriInfo = (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(),
                new Class<?>[] {UriInfo.class}, (proxy, m, args) -> switch (m.getName()) {
                    case "getPath" -> path;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        ContainerRequestContext context = (ContainerRequestContext) Proxy.newProxyInstance(
                ContainerRequestContext.class.getClassLoader(), new Class<?>[] {ContainerRequestContext.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "getHeaderString" -> "Authorization".equalsIgnoreCase((String) args[0]) ? authorization : null;
                    case "getMethod" -> method;
                    case "getUriInfo" -> uriInfo;
                    case "getSecurityContext" -> null;
                    case "abortWith" -> {
                        assertNull(call.aborted, "aborted twice");
                        call.aborted = (Response) args[0];
                        yield null;
                    }
                    case "setSecurityContext" -> {
                        call.security = (SecurityContext) args[0];
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        filter.filter(context);
        if (call.aborted == null) {
            assertNotNull(call.security, "a passed request carries its login");
        }
        return call;
    }
}
