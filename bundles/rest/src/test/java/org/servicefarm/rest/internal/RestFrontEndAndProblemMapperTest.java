package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.NotSupportedException;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

class RestFrontEndAndProblemMapperTest {

    @Test
    void addressUsesTheFrameworksHttpPortOr8181() {
        assertEquals("http://localhost:8181/api/v1", new RestFrontEnd(RestStack.config(Map.of()), (String) null).address());
        assertEquals("http://localhost:9090/api/v1", new RestFrontEnd(RestStack.config(Map.of()), "9090").address());
        assertEquals("http://localhost:8181/api/v1", new RestFrontEnd(RestStack.config(Map.of()), "eighty").address());
    }

    @Test
    void configuredPortOrBaseUrlWins() {
        assertEquals("http://localhost:7000/api/v1",
                new RestFrontEnd(RestStack.config(Map.of("httpPort", 7000)), "9090").address());
        assertEquals("https://farm.example.org/api/v1",
                new RestFrontEnd(RestStack.config(Map.of("baseUrl", "https://farm.example.org/api/v1/")), "9090")
                        .address());
    }

    @Test
    void runtimeClientErrorsKeepTheirStatusAsProblems() {
        try (RestStack stack = RestStack.start()) {
            stack.get("/api/v1/nothing-here", Login.VIEWER).problem(404);

            Answer notAllowed = stack.send("PUT", "/api/v1/hosts", Login.ADMIN.header(), RestStack.JSON, "{}");
            notAllowed.problem(405);
            String allow = notAllowed.header("Allow");
            assertTrue(allow.contains("GET") && allow.contains("POST"), allow);
        }
    }

    @Test
    void aBodyThatIsNotJsonIs415SayingWhatToSendAndLogsNoError() {
        // CXF logs a body it has no reader for at SEVERE (one ERROR line per client mistake in karaf.log);
        // a method that consumes JSON only is refused before any reader is looked for, at FINE
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    logged.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger cxf = Logger.getLogger("org.apache.cxf");
        cxf.addHandler(handler);
        try (RestStack stack = RestStack.start()) {
            for (String target : new String[] {"/api/v1/requests", "/api/v1/hosts", "/api/v1/images"}) {
                for (String type : new String[] {"text/plain", "application/x-www-form-urlencoded", "application/xml", null}) {
                    Answer answer = stack.send("POST", target, Login.ADMIN.header(), type, "{\"service\":\"wiki\"}");

                    JsonNode problem = answer.problem(415);
                    assertTrue(problem.get("detail").asText().contains("Content-Type: application/json"), answer.body());
                }
                // no type and no body (CXF takes it for application/octet-stream)
                stack.send("POST", target, Login.ADMIN.header(), null, "").problem(415);
            }
            // a charset the JVM does not know: CXF would throw before any filter (a 500 page with its exception chain)
            for (String charset : new String[] {"latin-1", "\"no-such\"", "a b", "x".repeat(300)}) {
                Answer answer = stack.send("POST", "/api/v1/requests", Login.ADMIN.header(),
                        "application/json; charset=" + charset, "{\"service\":\"wiki\"}");
                JsonNode problem = answer.problem(415);
                assertTrue(problem.get("detail").asText().endsWith("is not one this server reads: send JSON in UTF-8"),
                        answer.body());
                assertTrue(answer.body().length() < 400, "the charset is not echoed at length: " + answer.body());
            }
            Answer latin1 = stack.send("POST", "/api/v1/requests", Login.ADMIN.header(),
                    "application/json; charset=ISO-8859-1", "{\"service\":\"wiki\"}");
            assertEquals(1, stack.manager.requests.size(), "a charset the JVM knows is read: " + latin1.body());
            assertEquals("wiki", stack.manager.requests.get(0).service());
            stack.manager.requests.clear();
            // the login is checked first: an anonymous client is told to log in, a viewer that it may not
            stack.send("POST", "/api/v1/requests", null, null, "{}").problem(401);
            stack.send("POST", "/api/v1/hosts", Login.VIEWER.header(), null, "{}").problem(403);
            assertTrue(stack.manager.requests.isEmpty());
            assertTrue(stack.manager.registered.isEmpty());
            assertTrue(stack.images.builds.isEmpty());
            assertEquals(List.of(), logged.stream().map(LogRecord::getMessage).toList());
        } finally {
            cxf.removeHandler(handler);
        }
    }

    @Test
    void whatTheManagerDoesNotOfferIs501SayingWhereToAsk() {
        try (RestStack stack = RestStack.start()) {
            stack.manager.hostsFailure = new NotSupportedException(
                    "a directory appliance holds no hosts: list them on the manager at http://manager:8181");

            JsonNode problem = stack.get("/api/v1/hosts", Login.VIEWER).problem(501);

            assertEquals("urn:servicefarm:problem:not-supported", problem.get("type").asText());
            assertEquals("a directory appliance holds no hosts: list them on the manager at http://manager:8181",
                    problem.get("detail").asText());

            // any other UnsupportedOperationException is a fault of the appliance (an immutable list written to...)
            stack.manager.hostsFailure = new UnsupportedOperationException();
            stack.get("/api/v1/hosts", Login.VIEWER).problem(500);
        }
    }

    @Test
    void anythingElseIs500WithoutItsMessageOrTrace() {
        try (RestStack stack = RestStack.start()) {
            stack.manager.hostsFailure = new IllegalStateException("secret internals at x.y.Z");

            JsonNode problem = stack.get("/api/v1/hosts", Login.VIEWER).problem(500);

            assertFalse(problem.toString().contains("secret"), problem.toString());
            assertTrue(problem.get("detail").asText().contains("incident"));
        }
    }
}
