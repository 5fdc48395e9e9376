package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.servicefarm.rest.internal.RestStack.Login;

/** Every answer carries a request id: the client's when well-formed, else a new one; problems repeat it. */
class RequestIdTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();
    private static final Pattern UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    @Test
    void aWellFormedIdOfTheClientIsKept() {
        Answer answer = stack.send("GET", "/api/v1/hosts", Login.VIEWER, Map.of("X-Request-Id", "trace-42.a_b"));
        assertEquals(200, answer.status());
        assertEquals("trace-42.a_b", answer.header("X-Request-Id"));
    }

    @Test
    void withoutOneOrWithAMalformedOneANewIdIsGiven() {
        Answer none = stack.get("/api/v1/hosts", Login.VIEWER);
        assertTrue(UUID.matcher(none.header("X-Request-Id")).matches(), none.header("X-Request-Id"));
        for (String bad : new String[] {"has space", "x".repeat(65), "semi;colon", "quote\"", "%0d%0aForged: 1"}) {
            Answer answer = stack.send("GET", "/api/v1/hosts", Login.VIEWER, Map.of("X-Request-Id", bad));
            assertEquals(200, answer.status());
            assertTrue(UUID.matcher(answer.header("X-Request-Id")).matches(), bad + " -> " + answer.header("X-Request-Id"));
        }
        assertNotEquals(none.header("X-Request-Id"), stack.get("/api/v1/hosts", Login.VIEWER).header("X-Request-Id"));
    }

    @Test
    void aProblemNamesTheRequestIdAsTheHeaderDoes() {
        Answer refused = stack.send("GET", "/api/v1/hosts", null, Map.of("X-Request-Id", "anon-1"));
        assertEquals(401, refused.status());
        assertEquals("anon-1", refused.header("X-Request-Id"));
        assertEquals("anon-1", refused.json().path("requestId").asText(), refused.body());
        assertEquals(401, refused.json().path("status").asInt(), "the problem is otherwise as it was");

        Answer never = stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"wiki\"}");
        assertEquals(404, never.status());
        assertNotNull(never.header("X-Request-Id"));
        assertEquals(never.header("X-Request-Id"), never.json().path("requestId").asText(),
                "the NEVER answered on the manager's thread has it too");

        Answer unknownPath = stack.send("GET", "/api/v1/no-such-thing", Login.VIEWER, Map.of("X-Request-Id", "p-2"));
        assertEquals(404, unknownPath.status());
        assertEquals("p-2", unknownPath.json().path("requestId").asText(), unknownPath.body());
    }

    @Test
    void theIdIsInsertedIntoAnyProblemText() {
        assertEquals("{\"requestId\":\"r\",\"a\":1}", RequestIdFilter.withRequestId("{\"a\":1}", "r"));
        assertEquals("{\"requestId\":\"r\"}", RequestIdFilter.withRequestId("{}", "r"));
        assertEquals("{\"requestId\":\"x\"}", RequestIdFilter.withRequestId("{\"requestId\":\"x\"}", "r"),
                "an id already there stays");
    }
}
