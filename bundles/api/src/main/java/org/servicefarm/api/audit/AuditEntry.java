package org.servicefarm.api.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * One decision or repair, as the audit trail keeps it.
 *
 * @param id        its place in the trail: later entries have larger ids (paging goes by it)
 * @param at        when it was decided
 * @param appliance which appliance decided it (several may share one trail)
 * @param actor     who asked: a login name, or {@code appliance} for what the appliance did on its own
 * @param action    what was asked or done, e.g. {@code request}, {@code sleep}, {@code adopt}
 * @param subject   what it was about (an offering's key, a VM's id, a host's name), or {@code null}
 * @param outcome   what was decided, e.g. {@code GRANTED}, {@code NEVER}, {@code done}, or {@code null}
 * @param reason    why, or {@code null}
 */
public record AuditEntry(long id, Instant at, String appliance, String actor, String action, String subject,
                         String outcome, String reason) {
    public AuditEntry {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(appliance, "appliance");
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(action, "action");
    }
}
