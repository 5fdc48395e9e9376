package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code GET /api/v1/keepalive} over HTTP, through the whole stack. */
class KeepAliveResourceTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();

    @Test
    void thePolicyInForceAndWhatItLearnedOfEachCombination() {
        JsonNode answer = stack.get("/api/v1/keepalive", Login.VIEWER).json(200);
        assertEquals("adaptive", answer.get("policy").asText());
        JsonNode wiki = answer.at("/combinations/0");
        assertEquals("wiki", wiki.at("/offering/service").asText(), wiki.toString());
        assertEquals("2026-11-26T10:00:00Z", wiki.get("lastRequest").asText());
        assertEquals(12, wiki.get("idleTimes").asLong());
        assertEquals("2026-11-26T10:07:30Z", wiki.get("warmFrom").asText());
        assertEquals("2026-11-26T10:08:30Z", wiki.get("warmUntil").asText());
        JsonNode blog = answer.at("/combinations/1");
        assertTrue(blog.get("warmFrom") == null || blog.get("warmFrom").isNull(), "nothing planned: " + blog);
        assertTrue(blog.get("reading").asText().startsWith("no idle time"), blog.toString());
    }

    @Test
    void aGuestMayNotRead() {
        stack.get("/api/v1/keepalive", Login.GUEST).problem(403);
    }
}
