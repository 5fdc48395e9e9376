package org.servicefarm.api.reuse;

import java.util.Objects;

/**
 * Which reuse policy decided, and why.
 *
 * @param policy the policy in force (its {@link ReusePolicy#NAME}), or what the core used instead
 * @param reason the decision's reason
 */
public record ReuseExplanation(String policy, String reason) {
    public ReuseExplanation {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(reason, "reason");
    }
}
