package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.audit.AuditEntry;
import org.servicefarm.api.audit.AuditTrail;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code GET /api/v1/audit} over HTTP, through the whole stack, on a trail in memory. */
class AuditResourceTest {

    /** A trail of five entries that answers pages as the JDBC one does. */
    static final class ListTrail implements AuditTrail {
        final List<AuditEntry> entries = new ArrayList<>();
        Instant lastSince;

        ListTrail() {
            for (int i = 1; i <= 5; i++) {
                entries.add(new AuditEntry(i, Instant.parse("2026-11-26T04:00:00Z").plusSeconds(i), "one",
                        "operator", "request", "wiki@2.1", "GRANTED", "warm"));
            }
        }

        @Override
        public void record(String actor, String action, String subject, String outcome, String reason) {
        }

        @Override
        public List<AuditEntry> entries(Instant since, long afterId, int limit) {
            lastSince = since;
            return entries.stream().filter(e -> e.id() > afterId).filter(e -> since == null || !e.at().isBefore(since))
                    .limit(limit).toList();
        }

        @Override
        public String description() {
            return "a list";
        }
    }

    static final ListTrail TRAIL = new ListTrail();

    @RegisterExtension
    static final RestStack stack = RestStack.perClass(new AuditResource(TRAIL));

    @Test
    void pagesFollowOneAnother() {
        JsonNode first = stack.get("/api/v1/audit?limit=2", Login.OPERATOR).json(200);
        assertEquals(2, first.get("entries").size());
        assertEquals("/api/v1/audit?after=2&limit=2", first.get("next").asText());
        JsonNode last = stack.get("/api/v1/audit?after=4&limit=2", Login.OPERATOR).json(200);
        assertEquals(1, last.get("entries").size());
        assertEquals("operator", last.at("/entries/0/actor").asText());
        assertTrue(last.get("next") == null || last.get("next").isNull(), last.toString());
    }

    @Test
    void sinceTakesAnInstantOrADurationBack() {
        stack.get("/api/v1/audit?since=2026-11-26T04:00:03Z", Login.OPERATOR).json(200);
        assertEquals(Instant.parse("2026-11-26T04:00:03Z"), TRAIL.lastSince);
        Instant before = Instant.now();
        stack.get("/api/v1/audit?since=PT1H", Login.OPERATOR).json(200);
        assertTrue(!TRAIL.lastSince.isAfter(before.minusSeconds(3600 - 5)), TRAIL.lastSince.toString());
    }

    @Test
    void aViewerMayNotReadWhoAskedForWhat() {
        stack.get("/api/v1/audit", Login.VIEWER).problem(403);
    }

    @ParameterizedTest
    @ValueSource(strings = {"limit=0", "limit=1001", "limit=x", "after=-1", "after=1e3", "since=yesterday",
            "since=P-1", "since=2026-13-01T00:00:00Z"})
    void badQueriesAre400(String query) {
        stack.get("/api/v1/audit?" + query, Login.OPERATOR).problem(400);
    }
}
