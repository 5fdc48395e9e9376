package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.placement.Weigher;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.HostHealth;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageStatus;

class FormatsTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of("cve-1")), "high");

    @Test
    void everyFieldLeftOutIsFilledIn() {
        assertEquals(List.of("version", "os", "server", "runtime", "patches", "securityLevel"),
                WIKI.filledIn(ServiceRequest.of("wiki")));
    }

    @Test
    void fieldsTheRequestNamedAreNotFilledIn() {
        ServiceRequest request = new ServiceRequest("wiki", "2.1", new Environment("debian-12", null, "php-8.2",
                List.of("cve-1")), null, null, null);

        assertEquals(List.of("server", "securityLevel"), WIKI.filledIn(request));
    }

    @Test
    void noPatchesAskedAndNoneGivenIsNotFilledIn() {
        Offering plain = new Offering("wiki", "2.1", new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()),
                "high");
        ServiceRequest request = new ServiceRequest("wiki", "2.1", new Environment("debian-12", "httpd-2.4",
                "php-8.2", List.of()), "high", null, null);

        assertEquals(List.of(), plain.filledIn(request));
    }

    @Test
    void grantedPrintsEndpointVmHostActivationAndTheMarkedOffering() {
        ServiceRequest request = new ServiceRequest("wiki", null, new Environment("debian-12", null, null, null),
                null, null, null);
        String text = Formats.outcome(request, new Outcome.Granted(new Endpoint("127.0.0.1", 20001), "vm-7",
                "host-b", Activation.CREATED, WIKI, WIKI.filledIn(request), Duration.ofMillis(830),
                Outcome.Start.CHECKPOINT));

        List<String> lines = text.lines().toList();
        assertEquals("GRANTED wiki at 127.0.0.1:20001", lines.get(0));
        assertTrue(text.contains("vm          vm-7"), text);
        assertTrue(text.contains("host        host-b"), text);
        assertTrue(text.contains("activation  CREATED from a checkpoint"), text);
        assertTrue(text.contains("elapsed     830 ms"), text);
        assertTrue(text.contains("offering    wiki@2.1/debian-12/httpd-2.4/php-8.2+cve-1[high]"), text);
        assertTrue(line(lines, "os").endsWith("debian-12"), "asked for, so not marked: " + text);
        assertTrue(line(lines, "server").endsWith("httpd-2.4   (filled in)"), text);
        assertTrue(line(lines, "securityLevel").endsWith("high   (filled in)"), text);
        assertEquals("  filled in by the directory: version, server, runtime, patches, securityLevel",
                lines.get(lines.size() - 1));
    }

    @Test
    void retryLaterPrintsRetryAfterAndDetail() {
        String text = Formats.outcome(ServiceRequest.of("wiki"),
                new Outcome.RetryLater(Duration.ofMillis(1200), null, null, "booting on host-a", Duration.ofSeconds(1)));

        assertTrue(text.startsWith("RETRY_LATER wiki: retry after 2 s\n"), text);
        assertTrue(text.contains("detail      booting on host-a"), text);
        assertFalse(text.contains("offering"), text);
    }

    @Test
    void retryLaterSaysHowToRetryWithItsTicket() {
        String text = Formats.outcome(ServiceRequest.of("wiki"), new Outcome.RetryLater(Duration.ofMillis(1200), null,
                null, "booting on host-a", Duration.ofSeconds(1), "AbC-_0123456789abcdefg"));
        assertTrue(text.contains("retry with  --retry-ticket AbC-_0123456789abcdefg"), text);
    }

    @Test
    void neverPrintsTheReasonOnOneLine() {
        String text = Formats.outcome(ServiceRequest.of("wiki"),
                new Outcome.Never("wiki needs php, windows-2022 has none", Duration.ZERO));

        assertEquals("NEVER wiki: wiki needs php, windows-2022 has none\n", text);
    }

    @Test
    void agoUsesTheCoarsestUnit() {
        Instant now = Instant.parse("2026-01-02T00:00:00Z");
        assertEquals("never", Formats.ago(null, now));
        assertEquals("59s ago", Formats.ago(now.minusSeconds(59), now));
        assertEquals("3m ago", Formats.ago(now.minusSeconds(200), now));
        assertEquals("2h ago", Formats.ago(now.minusSeconds(7300), now));
        assertEquals("1d ago", Formats.ago(now.minusSeconds(86400), now));
        assertEquals("0s ago", Formats.ago(now.plusSeconds(5), now), "clock skew is not negative");
    }

    @Test
    void vmAndHostRowsCarryTheirColumns() {
        Instant now = Instant.parse("2026-01-01T10:06:00Z");
        VmRecord vm = new VmRecord("vm-1", "host-a", "img", WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 20001)),
                VmState.SLEEPING, new Capacity(1, 512, 1), now.minusSeconds(600), now.minusSeconds(60), 4, null);
        assertEquals(List.of("vm-1", "SLEEPING", "host-a", WIKI.key(), "127.0.0.1:20001", "4", "1m ago"),
                Formats.vmRow(vm, now));
        assertEquals(Formats.VM_COLUMNS.size(), Formats.vmRow(vm, now).size());

        HostStatus host = new HostStatus(new HostRecord("host-a", "libvirt", "test:///a", new Capacity(8, 16384, 10),
                0.5, "dmz", null), new Capacity(2, 4096, 5), false, "connection refused");
        assertEquals(List.of("host-a", "libvirt", "dmz", "0.50", "8 vCPU, 16384 MiB, 10 VMs",
                "2 vCPU, 4096 MiB, 5 VMs", "50%", "-", "no: connection refused"), Formats.hostRow(host));
        assertEquals(Formats.HOST_COLUMNS.size(), Formats.hostRow(host).size());
    }

    @Test
    void aHostsStagingSpaceIsShownAsLastRead() {
        HostStatus read = new HostStatus(new HostRecord("host-a", "libvirt", "test:///a", new Capacity(8, 16384, 10),
                0.5, "dmz", null), Capacity.ZERO, true, null, false, HostHealth.HEALTHY, Map.of(), null,
                new StagingSpace(100L << 20, 5_500_000));
        assertEquals("94% used", Formats.hostRow(read).get(7), "94.8% is not yet 95%, the space filter's default");
        assertTrue(Formats.host(read).contains("staging     94% used, 5.2 MiB of 100.0 MiB available\n"),
                Formats.host(read));
        HostStatus unread = new HostStatus(read.host(), Capacity.ZERO, true, null);
        assertTrue(Formats.host(unread).contains("staging     - (not read yet, or its driver does not say)\n"),
                Formats.host(unread));
    }

    @Test
    void offeringRowsHoldWhatFarmRequestTakes() {
        assertEquals(List.of("wiki", "2.1", "debian-12", "httpd-2.4", "php-8.2", "cve-1", "high"),
                Formats.offeringRow(WIKI));
    }

    @Test
    void tablesPrintHeadersAndRowsOrTheEmptyText() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        Tables.print(Formats.OFFERING_COLUMNS, List.of(Formats.offeringRow(WIKI)), "none", out);
        Tables.print(Formats.OFFERING_COLUMNS, List.of(), "No viable offerings.", out);

        String text = bytes.toString(StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        assertTrue(lines.get(0).startsWith("Service"), text);
        assertTrue(lines.get(0).contains("Security"), text);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("wiki") && l.contains("php-8.2")), text);
        assertTrue(text.contains("No viable offerings."), text);
    }

    private static String line(List<String> lines, String field) {
        return lines.stream().filter(l -> l.trim().startsWith(field + " ")).findFirst().orElseThrow();
    }

    @Test
    void anExplanationShowsTheActionTheRemovalsTheRankedCandidatesAndTheChoice() {
        HostRecord gamma = new HostRecord("gamma", "libvirt", "test:///g", new Capacity(8, 16384, 16), 0.3,
                "standard", null);
        HostRecord alpha = new HostRecord("alpha", "libvirt", "test:///a", new Capacity(2, 2048, 4), 0.05,
                "standard", null);
        PlacementExplanation placement = new PlacementExplanation("least-loaded", 3, 2,
                List.of(new PlacementExplanation.Removal("security-zone", 1, "zone high is not admitted")),
                List.of(new Candidate(new HostStatus(gamma, new Capacity(1, 256, 1), true, null), 0.875,
                                Map.of(Weigher.LOAD, 0.875)),
                        new Candidate(new HostStatus(alpha, new Capacity(1, 256, 1), true, null), 0.5,
                                Map.of(Weigher.LOAD, 0.5))), "gamma", null);
        String text = Formats.explanation(ServiceRequest.of("wiki"), new Explanation(WIKI, List.of("version"),
                "create a VM on host gamma", placement, new org.servicefarm.api.reuse.ReuseExplanation("cost",
                "no ACTIVE VM offers it; cheapest: a new VM on gamma (0.10/h), cost 0.150"), Duration.ofMillis(2)));

        assertTrue(text.startsWith("EXPLAIN wiki: would create a VM on host gamma\n"), text);
        assertTrue(text.contains("strategy    least-loaded (looked at 2 of 3 hosts)"), text);
        assertTrue(text.contains("reuse       cost: no ACTIVE VM offers it; cheapest: a new VM on gamma (0.10/h), "
                + "cost 0.150\n"), text);
        assertTrue(text.contains("removed     security-zone: 1 host(s), e.g. zone high is not admitted"), text);
        assertTrue(text.contains("candidates  1. gamma            score 0.875  (weighers: load 0.875)"), text);
        assertTrue(text.contains("2. alpha            score 0.500  (weighers: load 0.500)"), text);
        assertTrue(text.contains("chosen      gamma"), text);
        assertTrue(text.contains("nothing was created or changed"), text);
    }

    @Test
    void aDrainedOrFailingHostSaysSo() {
        HostStatus host = new HostStatus(new HostRecord("host-a", "libvirt", "test:///a", new Capacity(8, 16384, 10),
                0.5, "dmz", null), Capacity.ZERO, true, null, true,
                new HostHealth(3, Instant.parse("2026-01-01T10:00:00Z"), "define: boom"), Map.of());
        assertEquals("yes, drained, driver failed 3 time(s) in a row", Formats.hostRow(host).get(8));
    }

    @Test
    void componentImageAndDemandRows() {
        ComponentInfo nginx = new ComponentInfo(
                "server/nginx/1.22.1-9+deb12u11", ComponentInfo.Kind.SERVER, "nginx",
                "1.22.1-9+deb12u11", List.of("server:nginx", "server:nginx-1.22"), List.of(),
                Map.of("initrd-layer", 3_145_728L));
        assertEquals(List.of("server/nginx/1.22.1-9+deb12u11", "server", "server:nginx server:nginx-1.22", "-",
                "3.0 MiB"), Formats.componentRow(nginx));

        ImageStatus building = BuildCommandTest.status(
                ImageStatus.State.BUILDING,
                new ImageStatus.Progress(3, 5, "writing the initrd", 1, 4), null);
        assertEquals(List.of("80bfb71f9ad57f2f281405fb", "BUILDING", "PREBUILT",
                "wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]", "25%", "25.0 MiB", "0", "0", "never", ""),
                Formats.imageRow(building, Instant.EPOCH));

        Demand demand = new Demand(BuildCommandTest.WIKI, 12,
                Duration.ofMinutes(10), 10, null);
        assertEquals(List.of("wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]", "12", "600 s", "10", "-"),
                Formats.demandRow(demand));
        assertEquals(List.of("320 B", "1.5 KiB", "24.9 MiB", "1.0 GiB"), List.of(Formats.size(320),
                Formats.size(1536), Formats.size(26_109_542), Formats.size(1L << 30)));
    }
}
