package org.servicefarm.api.config;

import java.time.Instant;
import java.util.Objects;

/**
 * A configuration a component refused, registered as a service (under this class) for as long as the refusal stands:
 * until the component accepts a configuration again, or goes away.
 *
 * @param pid     the configuration's persistent identity, e.g. {@code org.servicefarm.keepalive.fixed}
 * @param reason  what is wrong with it, in the component's words
 * @param inForce what the component runs on meanwhile: the settings before it, the ones accepted last, or its defaults
 * @param since   when it was refused
 */
public record RefusedConfiguration(String pid, String reason, String inForce, Instant since) {

    /** Service property (String): the refused configuration's pid, to select one refusal by. */
    public static final String PID = "servicefarm.configuration.pid";

    public RefusedConfiguration {
        Objects.requireNonNull(pid, "pid");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(inForce, "inForce");
        Objects.requireNonNull(since, "since");
    }
}
