package org.servicefarm.api.audit;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;

/**
 * The farm's audit trail. Writers never wait for it: {@link #record} hands the entry over and returns (an entry is
 * stored within a fraction of a second); readers page through it by id.
 */
@ProviderType
public interface AuditTrail {

    /** The actor of what the appliance does on its own (lifecycle moves, repairs, pre-builds). */
    String APPLIANCE = "appliance";
    /** The most entries one {@link #entries} call returns. */
    int MAX_PAGE = 1000;

    /**
     * Appends an entry (the trail sets its id, time and appliance). Texts longer than the trail keeps are cut.
     *
     * @param actor   who asked, or {@link #APPLIANCE}
     * @param action  what was asked or done
     * @param subject what it was about, or {@code null}
     * @param outcome what was decided, or {@code null}
     * @param reason  why, or {@code null}
     */
    void record(String actor, String action, String subject, String outcome, String reason);

    /**
     * Records a request and its answer, as every front end does: the offering (or the service asked for when none was
     * found), the outcome with how it was served, and why.
     */
    default void answered(String actor, ServiceRequest request, Outcome outcome) {
        if (outcome instanceof Outcome.Granted g) {
            record(actor, "request", g.offering() != null ? g.offering().key() : request.service(),
                    "GRANTED " + g.activation() + (g.start() != null ? " from " + g.start() : ""),
                    (g.vmId() == null ? "run by host " + g.hostId() : "VM " + g.vmId() + " on " + g.hostId())
                            + " at " + g.endpoint());
        } else if (outcome instanceof Outcome.RetryLater r) {
            record(actor, "request", r.offering() != null ? r.offering().key() : request.service(), "RETRY_LATER",
                    r.detail());
        } else if (outcome instanceof Outcome.Never n) {
            record(actor, "request", request.service(), "NEVER", n.reason());
        }
    }

    /**
     * Entries at or after {@code since} with an id above {@code afterId}, oldest first.
     *
     * @param since   the earliest time wanted, or {@code null} for any
     * @param afterId the last id already seen (0 for the start)
     * @param limit   at most this many, 1 to {@link #MAX_PAGE}
     * @throws IllegalArgumentException if {@code limit} or {@code afterId} is out of range
     */
    List<AuditEntry> entries(Instant since, long afterId, int limit);

    /** Where the trail is kept (e.g. the database), for the status page. */
    String description();

    /**
     * The earliest time an operator asks for: an instant ({@code 2026-11-26T04:00:00Z}) or a duration back from
     * {@code now} ({@code PT1H}); {@code null} for a missing or blank text.
     *
     * @throws InvalidRequestException (field {@code since}) for anything else
     */
    static Instant since(String text, Instant now) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String value = text.strip();
        try {
            return value.startsWith("P") || value.startsWith("p") ? now.minus(Duration.parse(value))
                    : Instant.parse(value);
        } catch (DateTimeException | ArithmeticException e) {
            throw new InvalidRequestException("since", "since must be an instant such as 2026-11-26T04:00:00Z or a "
                    + "duration back from now such as PT1H");
        }
    }
}
