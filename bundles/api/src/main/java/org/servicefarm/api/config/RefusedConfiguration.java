package org.servicefarm.api.config;

import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.BinaryOperator;
import java.util.stream.Collectors;

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

    /**
     * Prefix of a component property, {@code servicefarm.without.<reference>}: what the component runs on, in words,
     * while the target its configuration gives the reference {@code <reference>} matches no service (a typo, a plug-in
     * not deployed). Such a target is refused as the configuration's, and this is the refusal's {@link #inForce}.
     *
     * @since 1.1
     */
    public static final String WITHOUT = "servicefarm.without.";

    /**
     * What to show of {@code refusals}: one per pid, the latest (several components may read one configuration, the
     * manager's for one, and each registers its refusal), by pid.
     */
    public static List<RefusedConfiguration> latestByPid(Collection<RefusedConfiguration> refusals) {
        Map<String, RefusedConfiguration> latest = refusals.stream().collect(Collectors.toMap(
                RefusedConfiguration::pid, r -> r,
                BinaryOperator.maxBy(Comparator.comparing(RefusedConfiguration::since)), TreeMap::new));
        return List.copyOf(latest.values());
    }

    public RefusedConfiguration {
        Objects.requireNonNull(pid, "pid");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(inForce, "inForce");
        Objects.requireNonNull(since, "since");
    }
}
