package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * An HTTP answer as a client reads it: status, headers (names in lower case) and body, with the
 * checks every problem+json answer must pass.
 */
record Answer(int status, Map<String, List<String>> headers, String body) {

    private static final ObjectMapper CLIENT = new ObjectMapper();

    /** What must never reach a client: Java or Jackson names, stack traces. */
    private static final Pattern INTERNALS = Pattern.compile(
            "Exception|\\tat |com\\.fasterxml|jackson|java\\.|javax\\.|org\\.apache|org\\.servicefarm|"
                    + "JsonNode|DeserializationFeature|MapperFeature|FAIL_ON|`|\\$|Lorg/|Ljava/",
            Pattern.CASE_INSENSITIVE);

    String header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    String contentType() {
        return header("Content-Type");
    }

    JsonNode json() {
        try {
            return CLIENT.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON (" + status + "): " + body, e);
        }
    }

    /** Asserts a 2xx JSON answer with this status and returns its body. */
    JsonNode json(int expected) {
        assertEquals(expected, status, body);
        assertEquals("application/json", contentType(), body);
        return json();
    }

    /** Asserts an RFC 9457 problem with this status, free of internals, and returns it. */
    JsonNode problem(int expected) {
        assertEquals(expected, status, body);
        assertEquals("application/problem+json", contentType(), body);
        JsonNode problem = json();
        assertEquals(expected, problem.get("status").asInt(), body);
        assertTrue(problem.get("type").asText().startsWith("urn:servicefarm:problem:"), body);
        assertFalse(problem.get("title").asText().isBlank(), body);
        assertFalse(problem.get("detail").asText().isBlank(), body);
        assertFalse(INTERNALS.matcher(body).find(), () -> "no Java or Jackson names in a body: " + body);
        return problem;
    }

    String detail() {
        return json().path("detail").asText();
    }
}
