package org.servicefarm.keepalive.fixed.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.keepalive.KeepaliveName;
import org.servicefarm.api.keepalive.KeepAlivePolicy;

/**
 * The fixed-timer keep-alive policy: an ACTIVE VM unused for T_sleep goes to sleep; one SLEEPING for T_archive is
 * archived in the first tier (configured); in the archive it moves to the compressed tier after T_compress and to the
 * delta tier after T_delta, and is destroyed after T_destroy, all counted from when it was archived. A zero timer
 * never fires. An application may have timers of its own. A VM whose offering is asked for at least
 * {@code inDemand.requestsPerMinute} stays ACTIVE and is not archived while it sleeps, however idle the VM itself is.
 * It pre-warms nothing: what AWS Lambda and Azure Functions do with their 10-20 minute keep-alive.
 */
@Component(configurationPid = FixedKeepAlive.PID)
@KeepaliveName("fixed")
@Designate(ocd = FixedKeepAlive.Config.class)
public class FixedKeepAlive implements KeepAlivePolicy {

    static final String PID = "org.servicefarm.keepalive.fixed";

    @ObjectClassDefinition(name = "ServiceFarm keep-alive: fixed timers",
            description = "When idle VMs are put to sleep, archived (in which tier) and destroyed, and when a service "
                    + "in demand keeps its VMs.")
    public @interface Config {
        @AttributeDefinition(name = "T_sleep (s)", description = "An ACTIVE VM not granted for this long is "
                + "suspended in memory (SLEEPING). 0: never.")
        long sleep_after_s() default 600;

        @AttributeDefinition(name = "T_archive (s)", description = "A VM SLEEPING for this long is archived (its state "
                + "saved to disk, its host's memory freed). 0: never.")
        long archive_after_s() default 1800;

        @AttributeDefinition(name = "first archive tier", description = "The tier a VM is archived in: SAVED, "
                + "COMPRESSED or DELTA.")
        String archive_tier() default "SAVED";

        @AttributeDefinition(name = "T_compress (s)", description = "An archive in the SAVED tier for this long (since "
                + "it was archived) is compressed. 0: never.")
        long compress_after_s() default 3600;

        @AttributeDefinition(name = "T_delta (s)", description = "An archive this old (since it was archived) is kept "
                + "as a delta against its image's base. 0: never.")
        long delta_after_s() default 21600;

        @AttributeDefinition(name = "T_destroy (s)", description = "An archived VM this old (since it was archived) is "
                + "destroyed and its archive removed. 0: never.")
        long destroy_after_s() default 604_800;

        @AttributeDefinition(name = "per application", description = "Timers of one application, overriding the "
                + "above: application:key=seconds;..., keys sleep, archive, tier (a tier name), compress, delta, "
                + "destroy; applications separated by commas, e.g. wiki:sleep=120;archive=600, blog:sleep=0.")
        String[] applications() default {};

        @AttributeDefinition(name = "in demand (requests/min)", description = "An offering asked for at least this "
                + "often (the popularity window's average) keeps its VMs ACTIVE however idle each is, and its sleeping "
                + "ones unarchived. 0: off.")
        double inDemand_requestsPerMinute() default 2;
    }

    /** One application's timers. */
    record Timers(Duration sleep, Duration archive, ArchiveTier first, Duration compress, Duration delta,
                  Duration destroy) {
    }

    private final ConfiguredSettings<Config, Settings> settings = new ConfiguredSettings<>(PID, Config.class,
            FixedKeepAlive::parse);

    private record Settings(Timers defaults, Map<String, Timers> byApplication, double inDemandPerMinute) {
    }

    @Activate
    @Modified
    public void configure(Config config, ComponentContext context) {
        settings.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        settings.close();
    }

    Timers timers(String application) {
        Settings s = settings.inForce();
        return s.byApplication().getOrDefault(application, s.defaults());
    }

    @Override
    public boolean learnsFromRequests() {
        return false; // timers: nothing to teach them when they come into force
    }

    @Override
    public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
        Settings s = settings.inForce();
        Timers t = s.byApplication().getOrDefault(vm.offering().service(), s.defaults());
        boolean inDemand = s.inDemandPerMinute() > 0 && offeringRequestsPerMinute >= s.inDemandPerMinute();
        switch (vm.state()) {
            case ACTIVE -> {
                // idle since its last grant, or since it became ACTIVE (a woken VM is not idle at once)
                Instant since = later(vm.lastActivity(), vm.inStateSince());
                Duration idle = Duration.between(since, now);
                if (fired(t.sleep(), idle) && !inDemand) {
                    return Optional.of(new Due(Action.SLEEP, null, "idle for " + human(idle) + " (T_sleep "
                            + human(t.sleep()) + ")"));
                }
            }
            case SLEEPING -> {
                Duration asleep = Duration.between(vm.inStateSince(), now);
                if (fired(t.archive(), asleep) && !inDemand) {
                    return Optional.of(new Due(Action.ARCHIVE, t.first(), "asleep for " + human(asleep)
                            + " (T_archive " + human(t.archive()) + ")"));
                }
            }
            case ARCHIVED -> {
                Duration archived = Duration.between(vm.inStateSince(), now);
                if (fired(t.destroy(), archived)) {
                    return Optional.of(new Due(Action.DESTROY, null, "archived for " + human(archived)
                            + " (T_destroy " + human(t.destroy()) + ")"));
                }
                ArchiveTier tier = vm.archive() == null ? ArchiveTier.SAVED : vm.archive().tier();
                if (tier.compareTo(ArchiveTier.DELTA) < 0 && fired(t.delta(), archived)) {
                    return Optional.of(new Due(Action.ARCHIVE, ArchiveTier.DELTA, "archived for " + human(archived)
                            + " (T_delta " + human(t.delta()) + ")"));
                }
                if (tier.compareTo(ArchiveTier.COMPRESSED) < 0 && fired(t.compress(), archived)) {
                    return Optional.of(new Due(Action.ARCHIVE, ArchiveTier.COMPRESSED, "archived for "
                            + human(archived) + " (T_compress " + human(t.compress()) + ")"));
                }
            }
            default -> {
            }
        }
        return Optional.empty();
    }

    /** A timer fires once {@code elapsed} reaches it; zero never fires. */
    private static boolean fired(Duration timer, Duration elapsed) {
        return !timer.isZero() && elapsed.compareTo(timer) >= 0;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s % 3600 == 0 && s > 0 ? s / 3600 + " h" : s % 60 == 0 && s > 0 ? s / 60 + " min" : s + " s";
    }

    /** The timers of a configuration; a bad value is refused with the key it is under. */
    private static Settings parse(Config config) {
        Timers defaults = new Timers(seconds(config.sleep_after_s(), "sleep.after.s"),
                seconds(config.archive_after_s(), "archive.after.s"), ArchiveTier.of("archive.tier", config.archive_tier()),
                seconds(config.compress_after_s(), "compress.after.s"), seconds(config.delta_after_s(), "delta.after.s"),
                seconds(config.destroy_after_s(), "destroy.after.s"));
        Map<String, Timers> byApplication = new HashMap<>();
        for (String entry : split(config.applications())) {
            int colon = entry.indexOf(':');
            if (colon < 1) {
                throw new IllegalArgumentException("applications: '" + entry + "' must be application:key=seconds;...");
            }
            String application = entry.substring(0, colon).trim();
            Timers t = defaults;
            for (String setting : entry.substring(colon + 1).split(";")) {
                String[] kv = setting.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("applications: '" + setting + "' must be key=value");
                }
                String key = kv[0].trim();
                String value = kv[1].trim();
                t = switch (key) {
                    case "sleep" -> new Timers(seconds(value, key), t.archive(), t.first(), t.compress(), t.delta(),
                            t.destroy());
                    case "archive" -> new Timers(t.sleep(), seconds(value, key), t.first(), t.compress(), t.delta(),
                            t.destroy());
                    case "tier" -> new Timers(t.sleep(), t.archive(), ArchiveTier.of("applications: tier", value), t.compress(), t.delta(),
                            t.destroy());
                    case "compress" -> new Timers(t.sleep(), t.archive(), t.first(), seconds(value, key), t.delta(),
                            t.destroy());
                    case "delta" -> new Timers(t.sleep(), t.archive(), t.first(), t.compress(), seconds(value, key),
                            t.destroy());
                    case "destroy" -> new Timers(t.sleep(), t.archive(), t.first(), t.compress(), t.delta(),
                            seconds(value, key));
                    default -> throw new IllegalArgumentException("applications: unknown key '" + key + "' for "
                            + application + " (sleep, archive, tier, compress, delta, destroy)");
                };
            }
            byApplication.put(application, t);
        }
        if (config.inDemand_requestsPerMinute() < 0) {
            throw new IllegalArgumentException("inDemand.requestsPerMinute must not be negative");
        }
        return new Settings(defaults, Map.copyOf(byApplication), config.inDemand_requestsPerMinute());
    }

    /** Configuration admin hands a list as one comma-separated string or as an array; both are split on commas. */
    private static java.util.List<String> split(String[] values) {
        java.util.List<String> entries = new java.util.ArrayList<>();
        if (values != null) {
            for (String value : values) {
                for (String entry : value.split(",")) {
                    if (!entry.isBlank()) {
                        entries.add(entry.trim());
                    }
                }
            }
        }
        return entries;
    }

    private static Duration seconds(String value, String key) {
        try {
            return seconds(Long.parseLong(value), key);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number of seconds, not '" + value + "'");
        }
    }

    private static Duration seconds(long value, String key) {
        if (value < 0) {
            throw new IllegalArgumentException(key + " must not be negative");
        }
        return Duration.ofSeconds(value);
    }
}
