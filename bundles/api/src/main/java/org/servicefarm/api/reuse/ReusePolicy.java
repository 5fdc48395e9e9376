package org.servicefarm.api.reuse;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides how a request for an offering is served: which VM of those offering it is granted now, and whether one
 * more is brought into service (a SLEEPING one resumed, an ARCHIVED one restored, or a new one created, which
 * placement then puts on a host), or whether the request joins work under way.
 * <p>
 * One policy, not a selection policy and a creation policy: whether to create depends on which VM would be selected
 * and what it costs, so the two halves are one decision, explained by one reason.
 * <p>
 * Exactly one is in force, chosen by configuration ({@code reuse.target}) and, among matching ones, by
 * {@code service.ranking}; while none matches, or when the one in force fails or answers a decision that does not
 * fit the request, the core decides itself, so no request fails for want of a policy. {@link #decide} is called on
 * every request, the warm ones too, without a lock: it must be quick (no I/O) and must not act. It must be
 * deterministic for a given request: state how ties are broken.
 */
@ConsumerType
public interface ReusePolicy {

    /** Service property (String): the policy's name, e.g. {@code default}. */
    String NAME = "reuse.name";

    /** How {@code request} is to be served; never {@code null}. */
    ReuseDecision decide(ReuseRequest request);
}
