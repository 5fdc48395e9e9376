package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code GET /api/v1/keepalive} over HTTP, through the whole stack. */
class KeepAliveResourceTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();

    private static final Instant LAST = Instant.parse("2026-11-26T10:00:00Z");

    @Test
    void thePolicyInForceAndWhatItLearnedOfEachCombination() {
        stack.keepAlive.outlook.clear();
        stack.keepAlive.outlook.addAll(List.of(
                new KeepAliveOutlook(FixedServiceManager.WIKI, LAST, 12, LAST.plusSeconds(450), LAST.plusSeconds(510),
                        "learned from its idle times: in memory from 7 min 30 s to 8 min 30 s after a request"),
                new KeepAliveOutlook(FixedServiceManager.BLOG, LAST, 3, null, null,
                        "no idle time likely enough to end in a request to be worth memory")));
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
