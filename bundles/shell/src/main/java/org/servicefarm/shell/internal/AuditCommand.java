package org.servicefarm.shell.internal;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.audit.AuditEntry;
import org.servicefarm.api.audit.AuditTrail;

/** farm:audit: the newest entries of the audit trail, or a page of those since a time or after an id. */
@Command(scope = "farm", name = "audit", description = "Lists the audit trail: who asked for what, what was decided "
        + "and why, and what the appliance did on its own.")
@Service
public class AuditCommand implements Action {
    static final List<String> COLUMNS = List.of("ID", "AT", "APPLIANCE", "ACTOR", "ACTION", "SUBJECT", "OUTCOME",
            "REASON");

    @Reference
    AuditTrail trail;

    @Option(name = "--since", description = "The earliest entry: an instant (2026-11-26T04:00:00Z) or a duration back "
            + "from now (PT1H); without it, the newest entries")
    String since;

    @Option(name = "--limit", description = "At most this many entries (1 to 1000, default 50)")
    int limit = 50;

    @Option(name = "--after", description = "Only entries after this id (the last one already read), oldest first: "
            + "the next page")
    long after;

    @Override
    public Object execute() throws CommandException {
        if (limit < 1 || limit > AuditTrail.MAX_PAGE) {
            throw Failures.failure("Invalid option --limit: limit must be from 1 to " + AuditTrail.MAX_PAGE
                    + ", not " + limit);
        }
        if (after < 0) {
            throw Failures.failure("Invalid option --after: after must be from 0 to " + Long.MAX_VALUE + ", not "
                    + after);
        }
        List<AuditEntry> entries;
        try {
            Instant from = AuditTrail.since(since, Instant.now());
            entries = from != null || after > 0 ? trail.entries(from, after, limit) : newest();
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, Map.of("since", "--since"));
        }
        Tables.print(COLUMNS, entries.stream().map(AuditCommand::row).toList(), "No entries.", System.out);
        return null;
    }

    /** The last {@code limit} entries: paged through from the start, keeping the tail. */
    private List<AuditEntry> newest() {
        java.util.ArrayDeque<AuditEntry> tail = new java.util.ArrayDeque<>();
        long after = 0;
        List<AuditEntry> page;
        do {
            page = trail.entries(null, after, AuditTrail.MAX_PAGE);
            for (AuditEntry e : page) {
                tail.addLast(e);
                if (tail.size() > limit) {
                    tail.removeFirst();
                }
            }
            after = page.isEmpty() ? after : page.get(page.size() - 1).id();
        } while (page.size() == AuditTrail.MAX_PAGE);
        return List.copyOf(tail);
    }

    static List<String> row(AuditEntry e) {
        return List.of(String.valueOf(e.id()), e.at().toString(), e.appliance(), e.actor(), e.action(),
                e.subject() == null ? "" : e.subject(), e.outcome() == null ? "" : e.outcome(),
                e.reason() == null ? "" : e.reason());
    }
}
