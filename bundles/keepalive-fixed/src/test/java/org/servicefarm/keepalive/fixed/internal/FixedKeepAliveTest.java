package org.servicefarm.keepalive.fixed.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Action;
import org.servicefarm.api.keepalive.KeepAlivePolicy.Due;

/** The fixed timers on a VM's hand-made history: last used, in its state since, archived in a tier. */
class FixedKeepAliveTest {

    private static final Instant T0 = Instant.parse("2026-01-05T00:00:00Z");
    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");

    private final FixedKeepAlive policy = new FixedKeepAlive();

    private void configure(Object... keysAndValues) {
        Map<String, Object> config = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            config.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        policy.configure(Converters.standardConverter().convert(config).to(FixedKeepAlive.Config.class), null);
    }

    private static VmRecord vm(String service, VmState state, Instant lastUsed, Instant since, ArchiveTier tier) {
        Offering offering = new Offering(service, WIKI.version(), WIKI.environment(), WIKI.securityLevel());
        return new VmRecord("sf-1", "alpha", "img", offering, Map.of(), state, new Capacity(1, 256, 1), T0, lastUsed,
                1, "", tier == null ? null : new Archive(tier, 1, 1), since);
    }

    private Optional<Due> due(VmRecord vm, long secondsAfterT0, double perMinute) {
        return policy.due(vm, T0.plusSeconds(secondsAfterT0), perMinute);
    }

    @Test
    void anIdleVmSleepsThenIsArchivedThenCompressedThenDestroyed() {
        configure("sleep.after.s", 600L, "archive.after.s", 1800L, "compress.after.s", 3600L, "delta.after.s", 0L,
                "destroy.after.s", 7200L);
        VmRecord active = vm("wiki", VmState.ACTIVE, T0, T0, null);
        assertEquals(Optional.empty(), due(active, 599, 0));
        assertEquals(Action.SLEEP, due(active, 600, 0).orElseThrow().action());
        VmRecord asleep = vm("wiki", VmState.SLEEPING, T0, T0.plusSeconds(600), null);
        assertEquals(Optional.empty(), due(asleep, 2399, 0));
        assertEquals(new Due(Action.ARCHIVE, ArchiveTier.SAVED, "asleep for 30 min (T_archive 30 min)"),
                due(asleep, 2400, 0).orElseThrow());
        VmRecord archived = vm("wiki", VmState.ARCHIVED, T0, T0.plusSeconds(2400), ArchiveTier.SAVED);
        assertEquals(ArchiveTier.COMPRESSED, due(archived, 6000, 0).orElseThrow().tier());
        assertEquals(Action.DESTROY, due(archived, 9600, 0).orElseThrow().action());
        assertEquals(List.of(), policy.prewarm(T0.plusSeconds(100)), "fixed timers pre-warm nothing");
    }

    @Test
    void aWokenVmIsIdleFromWhenItBecameActiveAndAnApplicationHasItsOwnTimers() {
        configure("sleep.after.s", 600L, "applications", new String[] {"blog:sleep=60"});
        VmRecord woken = vm("wiki", VmState.ACTIVE, T0, T0.plusSeconds(3000), null);
        assertEquals(Optional.empty(), due(woken, 3500, 0), "used long ago, but ACTIVE again for 500 s only");
        assertEquals(Action.SLEEP, due(vm("blog", VmState.ACTIVE, T0, T0, null), 60, 0).orElseThrow().action());
    }

    @Test
    void anOfferingInDemandKeepsItsVmsAndZeroNeverFires() {
        configure("sleep.after.s", 600L, "archive.after.s", 0L, "inDemand.requestsPerMinute", 2.0);
        VmRecord active = vm("wiki", VmState.ACTIVE, T0, T0, null);
        assertEquals(Optional.empty(), due(active, 3600, 2.0));
        assertEquals(Action.SLEEP, due(active, 3600, 1.9).orElseThrow().action());
        assertEquals(Optional.empty(), due(vm("wiki", VmState.SLEEPING, T0, T0, null), 86_400, 0));
    }

    @Test
    void badTimersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> configure("sleep.after.s", -1L));
        assertThrows(IllegalArgumentException.class, () -> configure("archive.tier", "TAPE"));
        assertThrows(IllegalArgumentException.class, () -> configure("applications", new String[] {"wiki:nap=3"}));
    }
}
