package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
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
        assertTrue(answer.get("next") == null || answer.get("next").isNull(), "one page: " + answer);
        JsonNode wiki = answer.at("/combinations/1");
        assertEquals("wiki", wiki.at("/offering/service").asText(), "in the order of the keys: " + answer);
        assertEquals("2026-11-26T10:00:00Z", wiki.get("lastRequest").asText());
        assertEquals(12, wiki.get("idleTimes").asLong());
        assertEquals("2026-11-26T10:07:30Z", wiki.get("warmFrom").asText());
        assertEquals("2026-11-26T10:08:30Z", wiki.get("warmUntil").asText());
        JsonNode blog = answer.at("/combinations/0");
        assertTrue(blog.get("warmFrom") == null || blog.get("warmFrom").isNull(), "nothing planned: " + blog);
        assertTrue(blog.get("reading").asText().startsWith("no idle time"), blog.toString());
    }

    @Test
    void pagesFollowOneAnotherInTheOrderOfTheKeysOfOneServiceIfAsked() {
        stack.keepAlive.outlook.clear();
        List<org.servicefarm.api.Offering> offerings = List.of(FixedServiceManager.WIKI, FixedServiceManager.BLOG,
                new org.servicefarm.api.Offering("wiki", "2.1", FixedServiceManager.WIKI.environment(), "standard"));
        for (org.servicefarm.api.Offering offering : offerings) {
            stack.keepAlive.outlook.add(new KeepAliveOutlook(offering, LAST, 1, null, null, "few idle times"));
        }
        JsonNode first = stack.get("/api/v1/keepalive?limit=2", Login.VIEWER).json(200);
        assertEquals(2, first.get("combinations").size(), first.toString());
        assertEquals("blog", first.at("/combinations/0/offering/service").asText());
        String next = first.get("next").asText();
        assertTrue(next.startsWith("/api/v1/keepalive?after=wiki%40"), next);
        JsonNode second = stack.get(next, Login.VIEWER).json(200);
        assertEquals(1, second.get("combinations").size(), second.toString());
        assertTrue(second.get("next") == null || second.get("next").isNull(), "the last page: " + second);
        java.util.Set<String> levels = new java.util.HashSet<>();
        for (JsonNode page : List.of(first, second)) {
            page.get("combinations").forEach(c -> levels.add(c.at("/offering/service").asText() + "/"
                    + c.at("/offering/securityLevel").asText()));
        }
        assertEquals(3, levels.size(), "each combination once: " + levels);

        JsonNode wiki = stack.get("/api/v1/keepalive?service=wiki&limit=1", Login.VIEWER).json(200);
        assertEquals("wiki", wiki.at("/combinations/0/offering/service").asText());
        assertTrue(wiki.get("next").asText().endsWith("&limit=1&service=wiki"), wiki.toString());
        JsonNode wikiNext = stack.get(wiki.get("next").asText(), Login.VIEWER).json(200);
        assertEquals("wiki", wikiNext.at("/combinations/0/offering/service").asText());
        assertTrue(wikiNext.get("next") == null || wikiNext.get("next").isNull(), wikiNext.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"limit=0", "limit=1001", "limit=ten"})
    void aMalformedLimitIsAProblem(String query) {
        JsonNode problem = stack.get("/api/v1/keepalive?" + query, Login.VIEWER).problem(400);
        assertTrue(problem.get("detail").asText().startsWith("limit must be"), problem.toString());
    }

    @Test
    void aGuestMayNotRead() {
        stack.get("/api/v1/keepalive", Login.GUEST).problem(403);
    }

    @Test
    void withoutALifecycleThereIsNoPolicyAndNothingLearned() {
        // no keep-alive policy in force: the lifecycle is gone, the resource stays and says so
        JsonMapping.KeepAliveJson answer = new KeepAliveResource().keepAlive(null, null, null);
        assertEquals(JsonMapping.keepAlive(null, List.of(), null), answer);
    }
}
