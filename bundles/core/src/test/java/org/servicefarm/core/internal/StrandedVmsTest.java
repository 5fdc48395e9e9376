package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/** The verdicts on the ACTIVE VMs of unreachable hosts, on probes the test answers by hand. */
class StrandedVmsTest {

    private static final Duration GRACE = Duration.ofSeconds(60);
    private static final VmRecord VM = new VmRecord("sf-1", "large", "img", new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "low"),
            Map.of("wiki", new Endpoint("127.0.0.1", 21000)), VmState.ACTIVE, new Capacity(1, 256, 1), Instant.EPOCH,
            null, 0, null);

    /** Each probe asked for, answered when the test completes it. */
    private final List<CompletableFuture<Void>> probes = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong();
    private final StrandedVms stranded = new StrandedVms(new Readiness() {
        @Override
        public CompletableFuture<Void> await(Map<String, Endpoint> endpoints, EndpointProbe.Timing timing) {
            assertEquals(Duration.ofSeconds(2), timing.limit(), "one try of the probe's timeout");
            CompletableFuture<Void> probe = new CompletableFuture<>();
            probes.add(probe);
            return probe;
        }

        @Override
        public void close() {
        }
    }, () -> Duration.ofSeconds(2), nanos::get);

    @Test
    void untilItsFirstProbeEndsTheGraceDecides() {
        assertTrue(stranded.serves(VM, Duration.ofSeconds(60), GRACE));
        assertFalse(stranded.serves(VM, Duration.ofSeconds(61), GRACE));
        assertEquals(1, probes.size(), "one probe at a time");
        assertFalse(stranded.probed(VM.id()));
    }

    @Test
    void anAnsweredProbeServesWhateverTheGraceAndIsAskedAgainEveryFiveSeconds() {
        stranded.serves(VM, Duration.ZERO, GRACE);
        probes.get(0).complete(null);
        assertTrue(stranded.probed(VM.id()));
        assertTrue(stranded.serves(VM, Duration.ofHours(1), GRACE));
        assertEquals(1, probes.size(), "a fresh verdict is not probed again");

        nanos.addAndGet(StrandedVms.RECHECK.toNanos());
        assertTrue(stranded.serves(VM, Duration.ofHours(1), GRACE), "the last verdict stands while the next runs");
        assertEquals(2, probes.size());
        probes.get(1).completeExceptionally(new EndpointProbe.NoAnswerException("no answer"));
        assertFalse(stranded.serves(VM, Duration.ZERO, GRACE), "silent now: passed over, even within the grace");
    }

    @Test
    void aVmWhoseHostAnswersAgainIsForgotten() {
        stranded.serves(VM, Duration.ZERO, GRACE);
        probes.get(0).completeExceptionally(new EndpointProbe.NoAnswerException("no answer"));
        assertFalse(stranded.serves(VM, Duration.ZERO, GRACE));
        stranded.forget(VM.id());
        assertTrue(stranded.serves(VM, Duration.ZERO, GRACE), "a new outage starts from the grace again");
    }
}
