package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import javax.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Helpers that read responses the way a client would: status, content type and the JSON bytes. */
final class Responses {

    private static final ObjectMapper CLIENT = new ObjectMapper();

    private Responses() {
    }

    static InputStream body(String json) {
        return new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8));
    }

    static JsonNode json(Response response) {
        try {
            return CLIENT.readTree((byte[]) response.getEntity());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts an RFC 9457 problem with the given status and returns it. */
    static JsonNode problem(Response response, int status) {
        assertEquals(status, response.getStatus());
        assertEquals("application/problem+json", response.getMediaType().toString());
        JsonNode problem = json(response);
        assertEquals(status, problem.get("status").asInt());
        assertTrue(problem.get("type").asText().startsWith("urn:servicefarm:problem:"), problem.toString());
        assertFalse(problem.get("title").asText().isBlank());
        assertFalse(problem.get("detail").asText().isBlank());
        assertFalse(problem.toString().contains("Exception"), "no exception names in a body: " + problem);
        assertFalse(problem.toString().contains("\tat "), "no stack trace in a body: " + problem);
        return problem;
    }
}
