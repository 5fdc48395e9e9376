package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.servicefarm.api.Names;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Bodies the strict binding refuses, answered in the contract's words: the field by its JSON path,
 * what was expected, never a Java or Jackson name ({@link Answer#problem} checks every body for
 * them) and never the client's value at length.
 */
class JsonProblemTest {

    private static final String HOST = "\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\"";
    private static final String CAPACITY = "\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}";

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();

    private static JsonNode refused(String path, Login login, String json) {
        JsonNode problem = stack.post(path, login, json).problem(400);
        assertTrue(stack.manager.requests.isEmpty() && stack.manager.registered.isEmpty(), "nothing reached the manager");
        return problem;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"service":"wiki","colour":"red"}                    | colour              | unknown field colour; known fields are [deadlineMs, environment, retryTicket, securityLevel, service, tier, version]
            {"service":"wiki","environment":{"kernel":"6"}}      | environment.kernel  | unknown field environment.kernel; known fields are [environment.os, environment.patches, environment.runtime, environment.server]
            {"service":42}                                       | service             | service must be a string, not a whole number
            {"service":"wiki","retryTicket":"a;b"}               | retryTicket         | retryTicket must be what a RETRY_LATER answer gave: up to 64 letters, digits, - or _
            {"service":true}                                     | service             | service must be a string, not a boolean
            {"service":"wiki","deadlineMs":"100"}                | deadlineMs          | deadlineMs must be a whole number, not a string
            {"service":"wiki","deadlineMs":1.5}                  | deadlineMs          | deadlineMs must be a whole number, not a number with a fraction
            {"service":"wiki","deadlineMs":-1}                   | deadlineMs          | deadline must not be negative: -1 ms
            {"service":"wiki","deadlineMs":99999999999999999999} | deadlineMs          | deadlineMs is out of range at line 1, column 52
            {"service":"wiki","environment":{"os":7}}            | environment.os      | environment.os must be a string, not a whole number
            {"service":"wiki","environment":{"os":"deb ian"}}    | environment.os      | environment.os must be 1-63 letters, digits, '.', '_', '+' or '-', starting with a letter or digit
            {"service":"wiki","environment":{"patches":"p1"}}    | environment.patches | environment.patches must be an array, not a string
            {"service":"wiki","environment":{"patches":[1]}}     | environment.patches[0] | environment.patches[0] must be a string, not a whole number
            {"service":"wiki","environment":"debian"}            | environment         | environment must be a JSON object, not a string
            {"service":"wiki","service":"blog"}                  | service             | duplicate field service at line 1, column 28
            {}                                                   | service             | service is required
            """)
    void requestFieldsAreNamedByTheirPath(String json, String field, String detail) {
        JsonNode problem = refused("/api/v1/requests", Login.OPERATOR, json);

        assertEquals(detail, problem.get("detail").asText());
        assertEquals(field, problem.get("field").asText());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"service":"wiki","environment":{"os":"debian-12"}         | malformed JSON at line 1, column 51: the body ends before the JSON value does
            {"service":"wiki",}                                        | malformed JSON at line 1, column 19
            not json                                                   | malformed JSON at line 1, column 1
            {"service":"wiki"} {}                                      | the request body must hold one JSON object, but more follows at line 1, column 20
            ["wiki"]                                                   | the request body must be a JSON object, not an array
            "wiki"                                                     | the request body must be a JSON object, not a string
            null                                                       | the request body must be a JSON object, not null
            """)
    void malformedBodiesSayWhere(String json, String detail) {
        JsonNode problem = refused("/api/v1/requests", Login.OPERATOR, json);

        assertEquals(detail, problem.get("detail").asText());
        assertFalse(problem.has("field"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {HOST}                                                              | capacity          | capacity is required: {"vcpus":N,"memoryMiB":N,"vms":N}
            {HOST,"capacity":{"vcpus":1,"memoryMiB":1}}                          | capacity.vms      | capacity.vms is required
            {HOST,"capacity":{"vcpus":1.5,"memoryMiB":1,"vms":1}}                | capacity.vcpus    | capacity.vcpus must be a whole number, not a number with a fraction
            {HOST,"capacity":{"vcpus":"2","memoryMiB":1,"vms":1}}                | capacity.vcpus    | capacity.vcpus must be a whole number, not a string
            {HOST,"capacity":{"vcpus":1,"memoryMiB":1,"vms":1,"gpus":2}}         | capacity.gpus     | unknown field capacity.gpus; known fields are [capacity.memoryMiB, capacity.vcpus, capacity.vms]
            {HOST,"capacity":{"vcpus":3000000000,"memoryMiB":1,"vms":1}}         | capacity.vcpus    | capacity.vcpus is out of range at line 1, column 80
            {HOST,CAPACITY,"costPerHour":"cheap"}                                | costPerHour       | costPerHour must be a number, not a string
            {HOST,CAPACITY,"properties":{"bootMillis":{}}}                       | properties.bootMillis | properties.bootMillis must be a string, a number or a boolean
            {HOST,CAPACITY,"properties":{"bootMillis":null}}                     | properties.bootMillis | properties.bootMillis must be a string, a number or a boolean
            {HOST,CAPACITY,"properties":["bootMillis"]}                          | properties        | properties must be a JSON object, not an array
            """)
    void hostFieldsAreNamedByTheirPath(String json, String field, String detail) {
        JsonNode problem = refused("/api/v1/hosts", Login.ADMIN,
                json.replace("HOST", HOST).replace("CAPACITY", CAPACITY));

        assertEquals(detail, problem.get("detail").asText());
        assertEquals(field, problem.get("field").asText());
    }

    /** A 60 KB service name (under the 64 KiB cap) is refused, and the answer does not carry it back. */
    @Test
    void aHugeNameIsRefusedWithoutEcho() {
        Answer answer = stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"" + "a".repeat(60_000) + "\"}");

        JsonNode problem = answer.problem(400);
        assertEquals("service", problem.get("field").asText());
        assertTrue(answer.body().length() < 400, answer.body());
        assertFalse(answer.body().contains("a".repeat(Names.EXCERPT_LENGTH + 1)));
    }

    /** Made-up field names are repeated as an excerpt only. */
    @Test
    void aHugeUnknownFieldIsNamedByAnExcerpt() {
        String name = "x".repeat(40_000);

        Answer answer = stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"wiki\",\"" + name + "\":1}");

        JsonNode problem = answer.problem(400);
        assertTrue(problem.get("field").asText().startsWith("xxxx"), answer.body());
        assertFalse(answer.body().contains("x".repeat(Names.EXCERPT_LENGTH + 1)), answer.body());
    }

    @Test
    void whatJsonCannotHoldIs400() {
        stack.post("/api/v1/requests", Login.OPERATOR, "{\"" + "k".repeat(60_000) + "\":1}").problem(400);
        stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":" + "[".repeat(2_000) + "]".repeat(2_000) + "}")
                .problem(400);
    }

    @Test
    void anEmptyBodyIs400AndTooLargeOne413() {
        assertEquals("the request body is empty; a JSON object is expected",
                refused("/api/v1/requests", Login.OPERATOR, "").get("detail").asText());
        stack.post("/api/v1/hosts", Login.ADMIN, "{\"name\":\"" + "h".repeat(Bodies.MAX_BYTES) + "\"}").problem(413);
    }
}
