package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code POST /api/v1/requests} over HTTP, through the whole stack. */
class RequestResourceTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();
    private final FixedServiceManager manager = stack.manager;

    private Answer request(String json) {
        return stack.post("/api/v1/requests", Login.OPERATOR, json);
    }

    @Test
    void grantedIs200WithEndpointVmHostActivationOfferingAndElapsed() {
        manager.answer = request -> new Outcome.Granted(new Endpoint("127.0.0.1", 20001), "vm-1", "host-a",
                Activation.RESUMED, FixedServiceManager.WIKI, FixedServiceManager.WIKI.filledIn(request), Duration.ofMillis(42));

        JsonNode json = request("{\"service\":\"wiki\"}").json(200);

        assertEquals("GRANTED", json.get("outcome").asText());
        assertEquals("127.0.0.1", json.at("/endpoint/host").asText());
        assertEquals(20001, json.at("/endpoint/port").asInt());
        assertEquals("vm-1", json.get("vmId").asText());
        assertEquals("host-a", json.get("hostId").asText());
        assertEquals("RESUMED", json.get("activation").asText());
        assertEquals(42, json.get("elapsedMs").asLong());
        assertEquals("wiki", json.at("/offering/service").asText());
        assertEquals("2.1", json.at("/offering/version").asText());
        assertEquals("debian-12", json.at("/offering/environment/os").asText());
        assertEquals("httpd-2.4", json.at("/offering/environment/server").asText());
        assertEquals("php-8.2", json.at("/offering/environment/runtime").asText());
        assertEquals("cve-1", json.at("/offering/environment/patches/0").asText());
        assertEquals("high", json.at("/offering/securityLevel").asText());
        assertEquals("[\"version\",\"os\",\"server\",\"runtime\",\"patches\",\"securityLevel\"]",
                json.get("filledIn").toString(), "every field but the service was left to the directory");
        assertFalse(json.has("start"), "a VM that was not created has no start path: " + json);
    }

    /**
     * A grant is written whole, with its length: not flushed half-way (which sent the headers and the body in one
     * write and the end of a chunked body in another, on every request).
     */
    @Test
    void grantedIsSentWithItsLengthNotChunked() {
        manager.answer = request -> new Outcome.Granted(new Endpoint("127.0.0.1", 20001), "vm-1", "host-a",
                Activation.ACTIVE, FixedServiceManager.WIKI, List.of(), Duration.ofMillis(1));

        Answer answer = request("{\"service\":\"wiki\"}");

        answer.json(200);
        assertNull(answer.header("Transfer-Encoding"), () -> "headers: " + answer.headers());
        assertEquals(answer.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
                Integer.parseInt(answer.header("Content-Length")), () -> "headers: " + answer.headers());
    }

    @Test
    void aCreatedVmsGrantSaysWhetherItBootedOrRestoredACheckpoint() {
        manager.answer = request -> new Outcome.Granted(new Endpoint("127.0.0.1", 20002), "vm-2", "qemu",
                Activation.CREATED, FixedServiceManager.WIKI, List.of(), Duration.ofMillis(180), Outcome.Start.CHECKPOINT);
        JsonNode json = request("{\"service\":\"wiki\"}").json(200);
        assertEquals("CREATED", json.get("activation").asText());
        assertEquals("CHECKPOINT", json.get("start").asText());
    }

    @Test
    void filledInNamesOnlyWhatTheRequestLeftOut() {
        manager.answer = request -> new Outcome.Granted(new Endpoint("127.0.0.1", 20001), "vm-1", "host-a",
                Activation.ACTIVE, FixedServiceManager.WIKI, FixedServiceManager.WIKI.filledIn(request), Duration.ZERO);
        JsonNode json = request("{\"service\":\"wiki\",\"version\":\"2.1\","
                + "\"environment\":{\"os\":\"debian-12\",\"patches\":[\"cve-1\"]},\"securityLevel\":\"high\"}").json(200);
        assertEquals("[\"server\",\"runtime\"]", json.get("filledIn").toString());
    }

    @Test
    void grantedOfferingCanBePostedBackAsItIs() {
        manager.answer = request -> new Outcome.Granted(new Endpoint("127.0.0.1", 20001), "vm-1", "host-a",
                Activation.ACTIVE, FixedServiceManager.WIKI, FixedServiceManager.WIKI.filledIn(request), Duration.ZERO);
        JsonNode offering = request("{\"service\":\"wiki\"}").json(200).get("offering");

        request(offering.toString()).json(200);

        assertEquals(FixedServiceManager.WIKI.toRequest(), manager.requests.get(1));
    }

    @Test
    void retryLaterIs503WithRetryAfterHeaderAndBody() {
        manager.answer = request -> new Outcome.RetryLater(Duration.ofMillis(2500), FixedServiceManager.WIKI,
                FixedServiceManager.WIKI.filledIn(request), "building on host-a", Duration.ofMillis(1000),
                "T0ket_-0123456789abcde");

        Answer answer = request("{\"service\":\"wiki\",\"deadlineMs\":1000,\"retryTicket\":\"earlier-ticket\"}");

        JsonNode json = answer.json(503);
        assertEquals("3", answer.header("Retry-After"));
        assertEquals("RETRY_LATER", json.get("outcome").asText());
        assertEquals(3, json.get("retryAfterSeconds").asLong());
        assertEquals("building on host-a", json.get("detail").asText());
        assertEquals("wiki", json.at("/offering/service").asText());
        assertTrue(json.get("filledIn").toString().contains("\"os\""));
        assertEquals(1000, json.get("elapsedMs").asLong());
        assertEquals("T0ket_-0123456789abcde", json.get("retryTicket").asText(), "what the retry sends back");
        assertEquals("earlier-ticket", manager.requests.get(0).retryTicket(), "the retry's ticket reaches the manager");
    }

    @Test
    void retryLaterWithoutOfferingLeavesTheFieldOut() {
        manager.answer = request -> new Outcome.RetryLater(Duration.ofSeconds(1), null, null, "busy", Duration.ZERO);

        JsonNode json = request("{\"service\":\"wiki\"}").json(503);

        assertFalse(json.has("offering"));
    }

    @Test
    void neverIs404ProblemWithOutcomeAndReason() {
        manager.answer = request -> new Outcome.Never("wiki does not run on windows-2022", Duration.ZERO);

        JsonNode problem = request("{\"service\":\"wiki\"}").problem(404);

        assertEquals("NEVER", problem.get("outcome").asText());
        assertEquals("wiki does not run on windows-2022", problem.get("detail").asText());
        assertEquals("urn:servicefarm:problem:never", problem.get("type").asText());
        assertFalse(problem.has("field"), "field is left out when no field is at fault");
    }

    @Test
    void neverSuggestsTheNearestViableRequestsAsBodiesThatCanBePostedAsTheyAre() {
        manager.answer = request -> request.environment().os().equals("windows-2022")
                ? new Outcome.Never("wiki does not run on windows-2022", Duration.ZERO)
                : new Outcome.Granted(new Endpoint("127.0.0.1", 22000), "vm-1", "host-a", Activation.ACTIVE,
                FixedServiceManager.WIKI, List.of(), Duration.ZERO);

        JsonNode problem = request("{\"service\":\"wiki\",\"environment\":{\"os\":\"windows-2022\"},"
                + "\"tier\":\"gold\"}").problem(404);

        JsonNode suggestions = problem.get("suggestions");
        assertEquals(1, suggestions.size(), suggestions.toString());
        assertEquals("{\"service\":\"wiki\",\"environment\":{\"os\":\"debian-12\"},\"tier\":\"gold\"}",
                suggestions.get(0).toString(), "only the field at fault changed; what was left out stays out");
        // posted as it is, the suggestion is granted
        request(suggestions.get(0).toString()).json(200);
    }

    @Test
    void everyFieldReachesTheManager() {
        request("""
                {"service":"wiki","version":"2.1",
                 "environment":{"os":"debian-12","server":"httpd-2.4","runtime":"php-8.2","patches":["p2","p1"]},
                 "securityLevel":"high","tier":"gold","deadlineMs":1500}""");

        ServiceRequest request = manager.requests.get(0);
        assertEquals("wiki", request.service());
        assertEquals("2.1", request.version());
        assertEquals("debian-12", request.environment().os());
        assertEquals("httpd-2.4", request.environment().server());
        assertEquals("php-8.2", request.environment().runtime());
        assertEquals(List.of("p1", "p2"), request.environment().patches());
        assertEquals("high", request.securityLevel());
        assertEquals("gold", request.tier());
        assertEquals(Duration.ofMillis(1500), request.deadline());
    }

    @Test
    void leftOutFieldsAreLeftToTheDirectory() {
        request("{\"service\":\"wiki\",\"environment\":{\"os\":\"debian-12\"}}");

        ServiceRequest request = manager.requests.get(0);
        assertNull(request.version());
        assertEquals("debian-12", request.environment().os());
        assertNull(request.environment().server());
        assertNull(request.securityLevel());
        assertNull(request.deadline());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",                                                  // empty body
            "{\"service\":\"wiki\"",                             // malformed JSON
            "[\"wiki\"]",                                        // not an object
            "{}",                                                // missing service
            "{\"service\":\"  \"}",                              // blank service
            "{\"service\":\"wiki\",\"colour\":\"red\"}",         // unknown field
            "{\"service\":\"wiki\",\"environment\":{\"kernel\":\"6\"}}", // unknown nested field
            "{\"service\":42}",                                  // wrong type
            "{\"service\":\"wiki\",\"deadlineMs\":\"100\"}",     // number as string
            "{\"service\":\"wiki\",\"deadlineMs\":1.5}",         // fraction
            "{\"service\":\"wiki\",\"deadlineMs\":-1}",          // negative deadline
            "{\"service\":\"wiki\",\"environment\":{\"patches\":\"p1\"}}", // patches not an array
            "{\"service\":\"wiki\",\"environment\":{\"patches\":[1]}}",    // patch not a string
            "{\"service\":\"wiki\",\"environment\":\"debian\"}", // environment not an object
            "{\"service\":\"wiki\",\"service\":\"blog\"}",       // duplicate field
            "{\"service\":\"wiki\"} {}",                         // trailing content
            "null",                                              // no object at all
    })
    void malformedInputIs400ProblemAndNeverReachesTheManager(String json) {
        request(json).problem(400);

        assertTrue(manager.requests.isEmpty());
    }

    @Test
    void unknownFieldIsNamedInTheDetail() {
        JsonNode problem = request("{\"service\":\"wiki\",\"colour\":\"red\"}").problem(400);

        assertTrue(problem.get("detail").asText().contains("colour"), problem.toString());
    }

    @Test
    void managersInvalidRequestIs400() {
        manager.answer = request -> {
            throw new InvalidRequestException("tier", "no tier gold");
        };

        JsonNode problem = request("{\"service\":\"wiki\",\"tier\":\"gold\"}").problem(400);

        assertEquals("no tier gold", problem.get("detail").asText());
        assertEquals("tier", problem.get("field").asText());
    }

    @Test
    void hugeBodyIs413() {
        String huge = "{\"service\":\"" + "w".repeat(Bodies.MAX_BYTES) + "\"}";

        request(huge).problem(413);

        assertTrue(manager.requests.isEmpty());
    }

    @Test
    void explainAnswersWhatTheManagerWouldDoAndDoesNothing() {
        int requestsBefore = manager.requests.size();
        JsonNode explained = stack.post("/api/v1/requests?explain=true", Login.OPERATOR, "{\"service\":\"wiki\"}")
                .json(200);

        assertEquals("EXPLAINED", explained.get("outcome").asText());
        assertEquals("create a VM on host host-a", explained.get("action").asText());
        assertEquals("wiki", explained.at("/offering/service").asText());
        assertEquals("least-loaded", explained.at("/placement/strategy").asText());
        assertEquals("default", explained.at("/reuse/policy").asText());
        assertEquals("no ACTIVE VM offers it; a new VM is created", explained.at("/reuse/reason").asText());
        assertEquals("host-a", explained.at("/placement/chosen").asText());
        assertEquals("security-zone", explained.at("/placement/removed/0/filter").asText());
        assertEquals(1, explained.at("/placement/removed/0/hosts").asInt());
        assertEquals("host-a", explained.at("/placement/candidates/0/host").asText());
        assertEquals(0.75, explained.at("/placement/candidates/0/score").asDouble(), 1e-9);
        assertEquals(0.75, explained.at("/placement/candidates/0/scores/load").asDouble(), 1e-9);
        assertEquals("wiki", manager.explained.get(manager.explained.size() - 1).service());
        assertEquals(requestsBefore, manager.requests.size(), "no request was made");
    }
}
