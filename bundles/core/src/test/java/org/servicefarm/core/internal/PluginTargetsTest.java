package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** Targets that match no plug-in installed: the reasons, and the grace before a configuration is refused for them. */
class PluginTargetsTest {

    private static final String STRATEGY = "org.servicefarm.api.placement.PlacementStrategy";
    private static final List<Map<String, Object>> STRATEGIES = List.of(
            Map.of("placement.name", "least-loaded", "service.id", 41L),
            Map.of("placement.name", "binpack", "service.id", 42L),
            Map.of("placement.name", "cheapest", "service.id", 43L));
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private static PluginTargets.Wanted placement(String target) {
        return new PluginTargets.Wanted("org.servicefarm.placement", "placement", STRATEGY, target, true,
                "the core places on the least loaded host itself (built-in least-loaded)");
    }

    @Test
    void aTargetIsUnmatchedWhenNoServiceInstalledMatchesItAndSaysWhatIsInstalled() {
        assertEquals(Optional.empty(), PluginTargets.unmatched(placement("(placement.name=binpack)"), STRATEGIES));
        assertEquals(Optional.empty(), PluginTargets.unmatched(placement("(|(placement.name=nope)(service.id=43))"),
                STRATEGIES));
        assertEquals(Optional.of("placement.target (placement.name=binpak) matches none of the 3 PlacementStrategy "
                        + "services installed (placement.name: binpack, cheapest, least-loaded)"),
                PluginTargets.unmatched(placement("(placement.name=binpak)"), STRATEGIES));
        assertEquals(Optional.of("placement.target (&(placement.name=binpack)(zone>=3)) matches none of the 1 "
                        + "PlacementStrategy service installed (placement.name: binpack)"),
                PluginTargets.unmatched(placement("(&(placement.name=binpack)(zone>=3))"), STRATEGIES.subList(1, 2)),
                "only attributes the services have are listed");
        assertEquals(Optional.of("placement.target (placement.name=binpack) matches nothing: no PlacementStrategy "
                + "service is installed"), PluginTargets.unmatched(placement("(placement.name=binpack)"), List.of()));
        assertEquals(Optional.of("placement.target (objectClass=Nope) matches none of the 1 PlacementStrategy service "
                + "installed (objectClass: a.Strategy,b.Other)"), PluginTargets.unmatched(
                placement("(objectClass=Nope)"),
                List.of(Map.of("objectClass", new String[] {"a.Strategy", "b.Other"}))),
                "an array's elements, not its identity");
        String broken = PluginTargets.unmatched(placement("(placement.name=binpack"), STRATEGIES).orElseThrow();
        assertTrue(broken.startsWith("placement.target (placement.name=binpack is not an LDAP filter: "), broken);
    }

    @Test
    void aConfigurationIsRefusedOnlyOnceItsTargetsMatchedNothingForTheGraceAndTheirReasonsGoTogether() {
        PluginTargets targets = new PluginTargets();
        PluginTargets.Wanted typo = placement("(placement.name=binpak)");
        PluginTargets.Wanted vms = new PluginTargets.Wanted("org.servicefarm.eviction", "vmPolicy",
                "org.servicefarm.api.eviction.EvictionPolicy", "(eviction.name=lur)", true,
                "no VM is evicted at the VM cap: requests that need a new VM wait");
        PluginTargets.Wanted staged = new PluginTargets.Wanted("org.servicefarm.eviction", "stagedPolicy",
                "org.servicefarm.api.eviction.EvictionPolicy", "(eviction.name=lur)", true, null);
        Map<PluginTargets.Wanted, String> unmatched = new LinkedHashMap<>();
        unmatched.put(typo, "placement typo");
        unmatched.put(vms, "vm typo");

        assertEquals(Map.of(), targets.due(unmatched, 0));
        assertEquals(Map.of(), targets.due(unmatched, 9 * SECOND), "a bundle being swapped comes back first");
        unmatched.put(staged, "staged typo");
        Map<String, PluginTargets.Refusal> due = targets.due(unmatched, 10 * SECOND);
        assertEquals(List.of("org.servicefarm.eviction", "org.servicefarm.placement"), List.copyOf(due.keySet()));
        assertEquals(new PluginTargets.Refusal("org.servicefarm.placement", "placement typo",
                "the core places on the least loaded host itself (built-in least-loaded)"),
                due.get("org.servicefarm.placement"));
        assertEquals("vm typo", due.get("org.servicefarm.eviction").reason(), "staged: only just seen");

        due = targets.due(unmatched, 20 * SECOND);
        assertEquals(new PluginTargets.Refusal("org.servicefarm.eviction", "staged typo; vm typo",
                "the component runs without a stagedPolicy; no VM is evicted at the VM cap: requests that need a new "
                        + "VM wait"), due.get("org.servicefarm.eviction"), "one refusal per configuration");

        // the placement target mended, then the same typo again: the grace starts over
        unmatched.remove(typo);
        assertEquals(List.of("org.servicefarm.eviction"), List.copyOf(targets.due(unmatched, 21 * SECOND).keySet()));
        unmatched.put(typo, "placement typo");
        assertEquals(List.of("org.servicefarm.eviction"), List.copyOf(targets.due(unmatched, 22 * SECOND).keySet()));
        assertEquals(2, targets.due(unmatched, 32 * SECOND).size());
    }
}
