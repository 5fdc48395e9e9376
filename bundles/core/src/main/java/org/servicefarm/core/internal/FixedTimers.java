package org.servicefarm.core.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.VmRecord;

/**
 * The fixed-timer keep-alive policy: an ACTIVE VM unused for T_sleep goes to sleep; one SLEEPING for T_archive is
 * archived in the first tier (configured); in the archive it moves to the compressed tier after T_compress and to the delta tier
 * after T_delta, and is destroyed after T_destroy, all counted from when it was archived. A zero timer never fires.
 * An application may have timers of its own. A VM whose offering is asked for at least {@code inDemandPerMinute}
 * stays ACTIVE and is not archived while it sleeps, however idle the VM itself is.
 */
final class FixedTimers implements KeepAlive {

    /** One application's timers. */
    record Timers(Duration sleep, Duration archive, ArchiveTier first, Duration compress, Duration delta,
                  Duration destroy) {
    }

    private final Timers defaults;
    private final Map<String, Timers> byApplication;
    private final double inDemandPerMinute;

    FixedTimers(Timers defaults, Map<String, Timers> byApplication, double inDemandPerMinute) {
        this.defaults = defaults;
        this.byApplication = Map.copyOf(byApplication);
        this.inDemandPerMinute = inDemandPerMinute;
    }

    Timers timers(String application) {
        return byApplication.getOrDefault(application, defaults);
    }

    @Override
    public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
        Timers t = timers(vm.offering().service());
        boolean inDemand = inDemandPerMinute > 0 && offeringRequestsPerMinute >= inDemandPerMinute;
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
                    return Optional.of(new Due(Action.ARCHIVE, t.first(), "asleep for " + human(asleep) + " (T_archive "
                            + human(t.archive()) + ")"));
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
}
