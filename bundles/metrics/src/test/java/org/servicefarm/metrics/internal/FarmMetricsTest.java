package org.servicefarm.metrics.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.testing.ListedFarm;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.StagingSpace;

/** The scrape is valid Prometheus text and says what happened and what the farm holds. */
class FarmMetricsTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.26", "php-8.2", List.of()), "standard");

    final ListedFarm farm = new ListedFarm();
    final List<VmRecord> vms = farm.vms;
    final List<HostStatus> hosts = farm.hosts;
    final FarmMetrics metrics = metrics(farm);

    static FarmMetrics metrics(ServiceManager manager) {
        FarmMetrics metrics = new FarmMetrics();
        metrics.manager = manager;
        return metrics;
    }

    @Test
    void answersAreCountedByOutcomeAndActivationWithTheirLatency() {
        Outcome granted = new Outcome.Granted(new Endpoint("127.0.0.1", 22000), "sf-1", "alpha", Activation.CREATED,
                WIKI, List.of(), Duration.ofMillis(3200));
        metrics.answered(ServiceRequest.of("wiki"), granted);
        metrics.answered(ServiceRequest.of("wiki"), granted);
        metrics.answered(ServiceRequest.of("wiki"), new Outcome.Never("no rule", Duration.ofMillis(2)));

        Map<String, Double> samples = parse(metrics.scrape());
        assertEquals(2.0, samples.get("servicefarm_requests_total{activation=\"CREATED\",outcome=\"GRANTED\"}"));
        assertEquals(1.0, samples.get("servicefarm_requests_total{activation=\"NONE\",outcome=\"NEVER\"}"));
        assertEquals(2.0, samples.get("servicefarm_request_seconds_count{outcome=\"GRANTED\"}"));
        assertEquals(6.4, samples.get("servicefarm_request_seconds_sum{outcome=\"GRANTED\"}"), 1e-9);
        assertEquals(0.0, samples.get("servicefarm_request_seconds_count{outcome=\"RETRY_LATER\"}"),
                "every outcome's series exists before its first answer");
        // a histogram: cumulative buckets, the 3.2 s answers above the 1 s bucket and within +Inf
        double underOneSecond = bucket(samples, "GRANTED", 1.0);
        assertEquals(0.0, underOneSecond);
        assertEquals(2.0, samples.get("servicefarm_request_seconds_bucket{outcome=\"GRANTED\",le=\"+Inf\"}"));
        assertEquals(1.0, bucket(samples, "NEVER", 0.01));
    }

    @Test
    void vmsByStateAndHostUseAreReadAtEachScrape() {
        HostRecord alpha = new HostRecord("alpha", "libvirt", "test:///default", new Capacity(4, 4096, 4), 0.01,
                "standard", Map.of());
        hosts.add(new HostStatus(alpha, new Capacity(1, 256, 1), true, null)
                .withStaging(new StagingSpace(100L << 30, 79L << 30))); // as its status last read it
        vms.add(vm("sf-1", VmState.ACTIVE));
        vms.add(vm("sf-2", VmState.ACTIVE));
        vms.add(vm("sf-3", VmState.SLEEPING));

        Map<String, Double> samples = parse(metrics.scrape());
        assertEquals(2.0, samples.get("servicefarm_vms{state=\"ACTIVE\"}"));
        assertEquals(1.0, samples.get("servicefarm_vms{state=\"SLEEPING\"}"));
        assertEquals(0.0, samples.get("servicefarm_vms{state=\"ARCHIVED\"}"));
        assertEquals(1.0, samples.get("servicefarm_host_vms{host=\"alpha\"}"));
        assertEquals(4.0, samples.get("servicefarm_host_vms_capacity{host=\"alpha\"}"));
        assertEquals(256.0 * 1024 * 1024, samples.get("servicefarm_host_memory_bytes{host=\"alpha\"}"));
        assertEquals(0.25, samples.get("servicefarm_host_load{host=\"alpha\"}"));
        assertEquals(1.0, samples.get("servicefarm_host_connected{host=\"alpha\"}"));
        assertEquals(100.0 * (1L << 30), samples.get("servicefarm_host_staging_capacity_bytes{host=\"alpha\"}"));
        assertEquals(79.0 * (1L << 30), samples.get("servicefarm_host_staging_available_bytes{host=\"alpha\"}"));

        vms.set(2, vm("sf-3", VmState.ACTIVE));
        hosts.clear();
        samples = parse(metrics.scrape());
        assertEquals(3.0, samples.get("servicefarm_vms{state=\"ACTIVE\"}"), "the next scrape sees the change");
        assertEquals(0.0, samples.get("servicefarm_vms{state=\"SLEEPING\"}"));
        assertTrue(samples.keySet().stream().noneMatch(k -> k.contains("alpha")),
                "a removed host has no series, its staging space's included");
    }

    @Test
    void keepAliveDecisionsAreCountedByPolicyAndDecision() {
        metrics.keepAliveDecided("fixed", FarmListener.KeepAlive.KEEP, null);
        metrics.keepAliveDecided("fixed", FarmListener.KeepAlive.KEEP, null);
        metrics.keepAliveDecided("fixed", FarmListener.KeepAlive.SLEEP, null);
        metrics.keepAliveDecided("histogram", FarmListener.KeepAlive.ARCHIVE, ArchiveTier.COMPRESSED);
        metrics.keepAliveDecided("histogram", FarmListener.KeepAlive.PREWARM, null);

        Map<String, Double> samples = parse(metrics.scrape());
        assertEquals(2.0, samples.get("servicefarm_keepalive_decisions_total{decision=\"KEEP\",policy=\"fixed\"}"));
        assertEquals(1.0, samples.get("servicefarm_keepalive_decisions_total{decision=\"SLEEP\",policy=\"fixed\"}"));
        assertEquals(1.0, samples.get(
                "servicefarm_keepalive_decisions_total{decision=\"ARCHIVE_COMPRESSED\",policy=\"histogram\"}"));
        assertEquals(1.0, samples.get(
                "servicefarm_keepalive_decisions_total{decision=\"PREWARM\",policy=\"histogram\"}"));
    }

    @Test
    void stagedContentDeletedIsCountedByHostWithItsBytes() {
        metrics.unstaged("qemu1", "volume 3f2a…", 24_893_987);
        metrics.unstaged("qemu1", "volume 9b1c…", 8_247_232);
        metrics.unstaged("xen1", "VDI servicefarm 0a1b… ", -1); // a size the host did not say: counted, no bytes

        Map<String, Double> samples = parse(metrics.scrape());
        assertEquals(2.0, samples.get("servicefarm_staged_unstaged_total{host=\"qemu1\"}"));
        assertEquals(33_141_219.0, samples.get("servicefarm_staged_unstaged_bytes_total{host=\"qemu1\"}"));
        assertEquals(1.0, samples.get("servicefarm_staged_unstaged_total{host=\"xen1\"}"));
        assertEquals(null, samples.get("servicefarm_staged_unstaged_bytes_total{host=\"xen1\"}"));
    }

    private static VmRecord vm(String id, VmState state) {
        return new VmRecord(id, "alpha", "img", WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 22000)), state,
                new Capacity(1, 256, 1), Instant.EPOCH, null, 0, null);
    }

    private static double bucket(Map<String, Double> samples, String outcome, double atMost) {
        double best = -1;
        double count = 0;
        Pattern le = Pattern.compile("servicefarm_request_seconds_bucket\\{outcome=\"" + outcome + "\",le=\"([^\"]+)\"}");
        for (Map.Entry<String, Double> sample : samples.entrySet()) {
            Matcher m = le.matcher(sample.getKey());
            if (m.matches() && !m.group(1).equals("+Inf")) {
                double bound = Double.parseDouble(m.group(1));
                if (bound <= atMost && bound > best) {
                    best = bound;
                    count = sample.getValue();
                }
            }
        }
        assertTrue(best > 0, "a bucket at or below " + atMost);
        return count;
    }

    /** Metric lines of the Prometheus text format 0.0.4 as name{labels} -> value; any other line fails the test. */
    static Map<String, Double> parse(String text) {
        Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*})?) (\\S+)(?: -?\\d+)?");
        Pattern comment = Pattern.compile("# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*");
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || comment.matcher(line).matches()) {
                continue;
            }
            Matcher m = sample.matcher(line);
            if (!m.matches()) {
                fail("not a Prometheus text line: " + line);
            }
            String value = m.group(2);
            samples.put(m.group(1), switch (value) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(value);
            });
        }
        return samples;
    }
}
