package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.core.internal.ShippedCatalog;

/**
 * Every viable offering of the shipped catalog (etc/org.servicefarm.catalog.cfg) against the repository
 * fixture (the manifests of a real components/build run): it either resolves to real components or is
 * refused with a reason that names what the repository lacks.
 */
class ShippedCatalogTest {

    private static final Path CATALOG = Path.of("..", "..", "etc", "org.servicefarm.catalog.cfg");
    /** "no <kind> component '<name>'": a catalog name nothing in the repository stands for. */
    private static final Pattern MISSING = Pattern.compile("no (operating system|server|runtime|application|patch) "
            + "component '([^']+)'");
    /** "<id> needs <selector>, which nothing in this combination provides": a need no chosen component meets. */
    private static final Pattern UNMET = Pattern.compile("(\\S+) needs (\\S+), which nothing in this combination provides.*");
    /** What components/README.md says cannot be had here. */
    private static final Set<String> NOT_BUILT = Set.of("alpine-3.20", "windows-2022", "iis-10", "tomcat-10.1",
            "java-21", "java-17", "dotnet-8", "shop@3.0", "api-gateway@1.4", "tomcat-cve-2024-50379", "kb5044281");

    private final DirectoryView directory = ShippedCatalog.directory(CATALOG);

    @Test
    void everyViableOfferingBuildsOrIsRefusedNamingWhatIsMissing() throws Exception {
        Repository repository = ResolverTest.fixture();
        List<Offering> offerings = directory.offerings(100_000);
        assertTrue(offerings.size() > 100, "the catalog has " + offerings.size() + " viable offerings");
        Map<String, Integer> refusedFor = new TreeMap<>();
        Set<String> realNames = new TreeSet<>();
        List<String> wrong = new ArrayList<>();
        int buildable = 0;
        for (Offering offering : offerings) {
            try {
                Composition composition = Resolver.resolve(repository, offering,
                        List.of(new VmSpec.GuestService(offering.service(), 80)));
                buildable++;
                realNames.add(offering.environment().os());
                realNames.add(offering.environment().server());
                realNames.add(offering.environment().runtime());
                realNames.add(offering.service() + "@" + offering.version());
                realNames.addAll(offering.environment().patches());
                assertTrue(composition.components().stream().anyMatch(c -> c.kind() == ComponentInfo.Kind.APP));
            } catch (Resolver.Refusal refusal) {
                String reason = refusal.getMessage();
                Matcher missing = MISSING.matcher(reason);
                Matcher unmet = UNMET.matcher(reason);
                if (missing.matches() && NOT_BUILT.contains(missing.group(2))) {
                    refusedFor.merge(missing.group(2), 1, Integer::sum);
                } else if (unmet.matches()) {
                    // e.g. debian-11 has glibc 2.31: the bookworm-built servers' abi:glibc-2.36 pulls in lib/glibc,
                    // which needs os:busybox; the reason names the need and the chain that led to it
                    refusedFor.merge(unmet.group(2) + " on " + offering.environment().os(), 1, Integer::sum);
                } else {
                    wrong.add(offering.key() + ": " + reason);
                }
            }
        }
        System.out.println(offerings.size() + " viable offerings: " + buildable + " build for real, refused: "
                + refusedFor);
        if (!wrong.isEmpty()) {
            fail("refused without naming what the repository lacks:\n" + String.join("\n", wrong));
        }
        assertTrue(buildable > 0);
        assertEquals(new TreeSet<>(Set.of("debian-12", "busybox-1.35", "debian-11", "nginx-1.22", "httpd-2.4",
                        "lighttpd-1.4", "busybox-httpd-1.35", "none", "php-8.2", "python-3.11", "wiki@2.1", "wiki@2.0",
                        "static-site@1.0", "counter@1.0", "blog@5.4", "openssl-3.0.15", "httpd-cve-2024-38476")), realNames,
                "every component built in the repository serves some offering for real");
        assertTrue(refusedFor.keySet().containsAll(Set.of("windows-2022", "alpine-3.20", "tomcat-10.1")), refusedFor
                .toString());
    }

    @Test
    void theFirstSessionsRequestsBuildForReal() throws Exception {
        Repository repository = ResolverTest.fixture();
        for (String service : List.of("wiki", "blog", "static-site")) {
            Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                    directory.resolve(ServiceRequest.of(service)));
            Composition composition = Resolver.resolve(repository, viable.offering(),
                    List.of(new VmSpec.GuestService(service, 80)));
            assertEquals("os/debian-12/12-12.4+deb12u15", composition.componentIds().get(0), service);
        }
        Resolution.Viable wiki = (Resolution.Viable) directory.resolve(ServiceRequest.of("wiki"));
        assertEquals("wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]", wiki.offering().key());
    }
}
