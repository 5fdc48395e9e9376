package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** HTTP Basic login against JAAS, the login cache and the roles, over HTTP through the whole stack. */
class LoginFilterTest {

    private static final String HOST = "{\"name\":\"host-d\",\"driver\":\"libvirt\",\"uri\":\"test:///d\","
            + "\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}}";

    @BeforeEach
    void resetCount() {
        TestLoginModule.LOGINS.set(0);
    }

    /**
     * What each user may do. A request the role check lets through gets the resource's own answer
     * (the fixed manager answers every service request NEVER, a 404 problem); one it refuses gets 403
     * naming the user. A method no resource has is 404 for everyone: no role opens what is not there.
     */
    @ParameterizedTest(name = "{0} {1} {2} -> {3}")
    @CsvSource({
            "viewer,   GET,    /api/v1/vms,               200",
            "viewer,   GET,    /api/v1/catalog/offerings, 200",
            "viewer,   POST,   /api/v1/requests,          403",
            "viewer,   POST,   /api/v1/hosts,             403",
            "operator, GET,    /api/v1/hosts,             200",
            "operator, POST,   /api/v1/requests,          404",
            "operator, POST,   /api/v1/hosts,             403",
            "operator, DELETE, /api/v1/hosts/host-a,      403",
            "admin,    GET,    /api/v1/vms,               200",
            "admin,    POST,   /api/v1/requests,          404",
            "admin,    POST,   /api/v1/hosts,             201",
            "admin,    DELETE, /api/v1/hosts/host-a,      204",
            "guest,    GET,    /api/v1/vms,               403",
            "operator, PUT,    /api/v1/unknown,           404",
            "viewer,   PUT,    /api/v1/unknown,           404",
    })
    void rolesDecideWhoMayDoWhat(String user, String method, String path, int expected) {
        try (RestStack stack = RestStack.start()) {
            String body = path.endsWith("hosts") ? HOST : path.endsWith("requests") ? "{\"service\":\"wiki\"}" : null;

            Answer answer = stack.send(method, path, RestStack.basic(user, user + "-pw"),
                    body == null ? null : RestStack.JSON, body);

            assertEquals(expected, answer.status(), answer.body());
            if (expected == 403) {
                JsonNode problem = answer.problem(403);
                assertTrue(problem.get("detail").asText().contains(user), problem.toString());
            }
        }
    }

    @Test
    void aLoggedInRequestCarriesTheUserAndTheRolesTheRealmGrants() {
        try (RestStack stack = RestStack.start(Map.of(), new ProbeResources.Methods())) {
            JsonNode viewer = stack.get("/api/probe/whoami", Login.VIEWER).json(200);
            assertEquals("viewer", viewer.get("user").asText());
            assertEquals("BASIC", viewer.get("scheme").asText());
            assertEquals("[\"viewer\"]", viewer.get("roles").toString());

            assertEquals("[\"viewer\",\"operator\"]", stack.get("/api/probe/whoami", Login.OPERATOR).json(200)
                    .get("roles").toString(), "each role includes the ones below");
            assertEquals("[\"viewer\",\"operator\",\"admin\"]", stack.get("/api/probe/whoami", Login.ADMIN).json(200)
                    .get("roles").toString());
        }
    }

    @Test
    void noCredentialsIs401WithBasicChallenge() {
        try (RestStack stack = RestStack.start()) {
            Answer answer = stack.get("/api/v1/vms", null);

            answer.problem(401);
            assertEquals("Basic realm=\"servicefarm\"", answer.header("WWW-Authenticate"));
            assertEquals(0, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void wrongPasswordIs401() {
        try (RestStack stack = RestStack.start()) {
            Answer answer = stack.get("/api/v1/vms", new Login("admin", "guess"));

            answer.problem(401);
            assertEquals("Basic realm=\"servicefarm\"", answer.header("WWW-Authenticate"));
        }
    }

    @Test
    void malformedAuthorizationIs401() {
        try (RestStack stack = RestStack.start()) {
            for (String header : List.of("Bearer abc", "Basic !!!not-base64",
                    "Basic " + Base64.getEncoder().encodeToString("no-colon".getBytes(StandardCharsets.UTF_8)))) {
                stack.send("GET", "/api/v1/vms", header, null, null).problem(401);
            }
            assertEquals(0, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void roleNamesAndRealmAreConfigurable() {
        try (RestStack stack = RestStack.start(Map.of("realm", "farm", "viewerRole", "readers"))) {
            stack.get("/api/v1/vms", new Login("reader", "reader-pw")).json(200);
            stack.get("/api/v1/vms", Login.VIEWER).problem(403);
        }
    }

    @Test
    void unknownRealmRefusesEveryone() {
        try (RestStack stack = RestStack.start(Map.of("realm", "nowhere"))) {
            stack.get("/api/v1/vms", Login.ADMIN).problem(401);
        }
    }

    @Test
    void aSuccessfulLoginIsCachedAndAFailedOneIsNot() {
        try (RestStack stack = RestStack.start()) {
            for (int i = 0; i < 5; i++) {
                stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"wiki\"}").problem(404);
            }
            assertEquals(1, TestLoginModule.LOGINS.get());

            for (int i = 0; i < 3; i++) {
                stack.get("/api/v1/vms", new Login("operator", "wrong")).problem(401);
            }
            assertEquals(4, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void aCachedLoginExpiresAfterTheConfiguredTime() {
        try (RestStack stack = RestStack.start(Map.of("loginCacheSeconds", 60))) {
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
            stack.advanceSeconds(59);
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
            assertEquals(1, TestLoginModule.LOGINS.get());

            stack.advanceSeconds(1);
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
            assertEquals(2, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void cacheOffLogsInEveryTime() {
        try (RestStack stack = RestStack.start(Map.of("loginCacheSeconds", 0))) {
            stack.get("/api/v1/vms", Login.VIEWER);
            stack.get("/api/v1/vms", Login.VIEWER);

            assertEquals(2, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void cachedLoginStillGetsTheRoleCheck() {
        try (RestStack stack = RestStack.start()) {
            stack.get("/api/v1/vms", Login.VIEWER).json(200);

            stack.post("/api/v1/requests", Login.VIEWER, "{\"service\":\"wiki\"}").problem(403);

            assertEquals(1, TestLoginModule.LOGINS.get());
        }
    }
}
