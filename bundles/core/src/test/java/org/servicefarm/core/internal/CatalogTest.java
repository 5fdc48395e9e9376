package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

/** The directory on the catalog the appliance ships (etc/org.servicefarm.catalog.cfg). */
class CatalogTest {

    private final CatalogDirectory directory = new CatalogDirectory();

    CatalogTest() {
        Map<String, Object> config = Farm.shippedConfig("org.servicefarm.catalog.cfg");
        directory.configure(Farm.convert(config, CatalogDirectory.Config.class), config, null);
    }

    private Resolution resolve(String service, String version, String os, String server, String runtime,
                               String security, String... patches) {
        return directory.resolve(new ServiceRequest(service, version, new Environment(os, server, runtime,
                List.of(patches)), security, null, null));
    }

    @Test
    void fillsWhatTheRequestLeavesOutWithTheFirstViableChoice() {
        Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                resolve("wiki", null, null, null, null, null));
        Offering offering = viable.offering();
        assertEquals("2.1", offering.version());
        assertEquals(new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), offering.environment());
        assertEquals("standard", offering.securityLevel());
        assertEquals(List.of("version", "os", "server", "runtime", "securityLevel"), viable.filledIn());
    }

    @Test
    void keepsWhatTheRequestSets() {
        Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                resolve("shop", "3.0", null, null, null, "low"));
        assertEquals("java-17", viable.offering().environment().runtime(), "shop 3.0 requires java 17");
        assertEquals("tomcat-10.1", viable.offering().environment().server());
        assertFalse(viable.filledIn().contains("version"));
    }

    @Test
    void explicitNonViableCombinationNamesTheBrokenRule() {
        Resolution.NotViable never = assertInstanceOf(Resolution.NotViable.class,
                resolve("static-site", null, "debian-12", "iis-10", "none", null));
        assertTrue(never.reason().contains("iis-needs-windows"), never.reason());
    }

    @Test
    void partialRequestWithNoViableCompletionIsNotViable() {
        Resolution.NotViable never = assertInstanceOf(Resolution.NotViable.class,
                resolve("wiki", null, "windows-2022", null, null, null));
        assertTrue(never.reason().startsWith("none of the"), never.reason());
    }

    @Test
    void securityLevelAddsTheRequiredPatches() {
        Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                resolve("wiki", null, null, "httpd-2.4", null, "high"));
        assertEquals(List.of("httpd-cve-2024-38476", "openssl-3.0.15"), viable.offering().environment().patches());
        assertTrue(viable.filledIn().contains("patches"));
    }

    @Test
    void conflictsAreEnforced() {
        assertInstanceOf(Resolution.NotViable.class, resolve("wiki", null, "debian-11", null, null, "high"));
        assertInstanceOf(Resolution.NotViable.class, resolve("wiki", "2.0", "alpine-3.20", null, null, null));
        assertInstanceOf(Resolution.Viable.class, resolve("wiki", "2.1", "alpine-3.20", null, null, null));
    }

    @Test
    void patchesOnlyApplyToWhatTheyPatch() {
        assertInstanceOf(Resolution.NotViable.class,
                resolve("wiki", null, null, "nginx-1.22", null, null, "httpd-cve-2024-38476"));
    }

    @Test
    void unknownNamesAreNotViableWithTheKnownOnes() {
        Resolution.NotViable never = assertInstanceOf(Resolution.NotViable.class,
                resolve("wiki", null, "plan9", null, null, null));
        assertTrue(never.reason().contains("unknown os 'plan9'"), never.reason());
        assertTrue(never.reason().contains("debian-12"), never.reason());
        assertInstanceOf(Resolution.NotViable.class, resolve("wiki", "9.9", null, null, null, null));
        assertInstanceOf(Resolution.NotViable.class, resolve("wiki", null, null, null, null, "paranoid"));
    }

    @Test
    void everyListedOfferingIsViableAsItIs() {
        List<Offering> offerings = directory.offerings(1000);
        assertTrue(offerings.size() > 20, "the demo catalog offers many combinations: " + offerings.size());
        assertTrue(offerings.stream().anyMatch(o -> o.environment().os().equals("windows-2022")));
        for (Offering offering : offerings) {
            Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                    directory.resolve(offering.toRequest()), offering.key());
            assertEquals(offering, viable.offering());
        }
        assertEquals(5, directory.offerings(5).size());
    }

    @Test
    void rulesParseAndRejectNonsense() {
        Rule rule = Rule.parse("r", "security:high and os:debian-* requires patch:openssl-3.0.15|patch:other");
        assertEquals(2, rule.subject().size());
        assertEquals(2, rule.alternatives().size());
        assertThrows(IllegalArgumentException.class, () -> Rule.parse("r", "os:debian-12 needs server:x"));
        assertThrows(IllegalArgumentException.class, () -> Rule.parse("r", "color:red requires os:x"));
        assertThrows(IllegalArgumentException.class, () -> Rule.parse("r", "os requires server:x"));
    }

    @Test
    void resolutionsAreCachedPerShapeButNotForNonViableOnes() {
        ServiceRequest request = ServiceRequest.of("wiki");
        assertTrue(directory.resolve(request) == directory.resolve(request.withTier("premium")));
        ServiceRequest bad = ServiceRequest.of("nope");
        assertFalse(directory.resolve(bad) == directory.resolve(bad));
    }
}
