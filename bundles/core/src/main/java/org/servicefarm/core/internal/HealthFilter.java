package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostHealth;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: the host is connected, and its driver is not failing. After {@code failureThreshold} failed
 * calls in a row the host is skipped for a back-off that doubles with each further failure (up to a maximum); once
 * the back-off has passed one placement may try it again, and a single successful call or a reconnection clears
 * the count ({@link HostIndex#succeeded}).
 */
@Component(service = HostFilter.class, configurationPid = HealthFilter.PID,
        property = HostFilter.COST + ":Integer=10")
@Designate(ocd = HealthFilter.Config.class)
@FilterName("health")
public class HealthFilter implements HostFilter {

    static final String PID = "org.servicefarm.filter.health";

    @ObjectClassDefinition(name = "ServiceFarm health filter",
            description = "Skips hosts that are not connected or whose driver keeps failing, until they recover.")
    public @interface Config {
        @AttributeDefinition(name = "failure threshold", description = "How many driver calls on a host must fail "
                + "in a row before placement skips the host.")
        int failureThreshold() default 3;

        @AttributeDefinition(name = "first back-off (ms)", description = "How long a host is skipped once it "
                + "reaches the failure threshold; each further failure doubles it.")
        long backoff_initial_ms() default 10_000;

        @AttributeDefinition(name = "longest back-off (ms)", description = "The longest a failing host is skipped "
                + "before placement tries it again.")
        long backoff_max_ms() default 300_000;
    }

    /** The configuration's values, read once: a typo is refused here, not met at every placement. */
    private record Backoff(int threshold, long initialMs, long maxMs) {
    }

    Clock clock = Clock.systemUTC();
    private final ConfiguredSettings<Config, Backoff> backoff = new ConfiguredSettings<>(PID, Config.class,
            c -> new Backoff(Math.max(1, c.failureThreshold()), c.backoff_initial_ms(), c.backoff_max_ms()));

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        backoff.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        backoff.close();
    }

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        if (!host.connected()) {
            return Optional.of("not connected" + (host.detail() == null ? "" : " (" + host.detail() + ")"));
        }
        Instant until = skippedUntil(host.health());
        if (until != null && clock.instant().isBefore(until)) {
            HostHealth health = host.health();
            return Optional.of("its driver failed " + health.consecutiveFailures() + " times in a row (last: "
                    + health.lastFailure() + "); skipped until " + until);
        }
        return Optional.empty();
    }

    /** When the host may be tried again, or {@code null} if it is not being skipped. */
    Instant skippedUntil(HostHealth health) {
        Backoff c = backoff.inForce();
        int beyond = health.consecutiveFailures() - c.threshold();
        if (beyond < 0 || health.lastFailureAt() == null) {
            return null;
        }
        long wait = c.initialMs() << Math.min(beyond, 30);
        return health.lastFailureAt().plus(Duration.ofMillis(Math.min(Math.max(0, wait), c.maxMs())));
    }
}
