package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.audit.AuditEntry;
import org.servicefarm.api.audit.AuditTrail;

/** Every move of a VM, and what a front end was answered, reach the audit trail. */
class AuditedMovesTest {

    /** A trail that keeps what it is told, in order. */
    static final class ListTrail implements AuditTrail {
        final List<String> lines = new CopyOnWriteArrayList<>();

        @Override
        public void record(String actor, String action, String subject, String outcome, String reason) {
            lines.add(actor + " " + action + " " + outcome);
        }

        @Override
        public List<AuditEntry> entries(Instant since, long afterId, int limit) {
            return List.of();
        }

        @Override
        public String description() {
            return "a list";
        }
    }

    private final Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    @Test
    void aCreationIsAuditedMoveByMoveAndTheAnswerAsTheFrontEndGaveIt() {
        ListTrail trail = new ListTrail();
        farm.table.audit = trail;
        ServiceRequest request = ServiceRequest.of("wiki").withDeadline(Duration.ofSeconds(60));
        Outcome outcome = farm.manager.request(request);
        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, outcome);
        trail.answered("operator", request, outcome);

        assertEquals(List.of("appliance move CREATING -> STARTING", "appliance move STARTING -> ACTIVE",
                "operator request GRANTED CREATED from BOOT"), trail.lines,
                "VM " + granted.vmId() + ": every move, then the answer");
        trail.answered("viewer", ServiceRequest.of("no-such-app"), farm.manager.request(ServiceRequest.of("no-such-app")));
        assertEquals("viewer request NEVER", trail.lines.get(trail.lines.size() - 1));
    }
}
