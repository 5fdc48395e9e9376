package org.servicefarm.core.internal;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.servicefarm.api.VmRecord;

/**
 * Whether the ACTIVE VMs of a host the farm cannot reach still serve, as their endpoints tell. A lost connection says
 * only that the hypervisor does not answer: a libvirtd restart leaves its guests running, a dead machine takes them
 * with it. Such a VM's endpoints are probed (one try, off the request path) when it is first asked for, and again
 * every {@link #RECHECK} while it is asked for: it is granted while its last probe was answered, and passed over once
 * one was not. Until its first probe ends, the grace decides ({@code unreachableHost.grace.s}).
 */
final class StrandedVms {

    /** How old a probe's verdict may be before the next request for the VM has it probed again. */
    static final Duration RECHECK = Duration.ofSeconds(5);

    private record Verdict(boolean answered, long atNanos) {
    }

    private final Map<String, Verdict> verdicts = new ConcurrentHashMap<>();
    private final Set<String> probing = ConcurrentHashMap.newKeySet();
    private final Readiness probe;
    private final Supplier<Duration> attempt;
    private final LongSupplier nanoTime;

    /**
     * @param attempt  how long one try may take (the readiness probe's {@code probe.timeout.ms})
     * @param nanoTime the clock the hosts' unreachability is measured on
     */
    StrandedVms(Readiness probe, Supplier<Duration> attempt, LongSupplier nanoTime) {
        this.probe = probe;
        this.attempt = attempt;
        this.nanoTime = nanoTime;
    }

    /** Whether {@code vm}, ACTIVE on a host unreachable for {@code unreachableFor}, may be granted now. */
    boolean serves(VmRecord vm, Duration unreachableFor, Duration grace) {
        Verdict last = verdicts.get(vm.id());
        if (last == null || nanoTime.getAsLong() - last.atNanos() >= RECHECK.toNanos()) {
            probe(vm);
        }
        return last != null ? last.answered() : unreachableFor.compareTo(grace) <= 0;
    }

    /** Forgets what was probed of {@code vmId}: its host answers again, or is gone. */
    void forget(String vmId) {
        if (!verdicts.isEmpty()) {
            verdicts.remove(vmId);
        }
    }

    /** Whether a probe of {@code vmId} has ended, and none is under way; for tests. */
    boolean probed(String vmId) {
        return verdicts.containsKey(vmId) && !probing.contains(vmId);
    }

    private void probe(VmRecord vm) {
        if (vm.endpoints().isEmpty() || !probing.add(vm.id())) {
            return;
        }
        Duration one = attempt.get();
        probe.await(vm.endpoints(), new EndpointProbe.Timing(one, one, one)).whenComplete((answered, failure) -> {
            verdicts.put(vm.id(), new Verdict(failure == null, nanoTime.getAsLong()));
            probing.remove(vm.id());
        });
    }
}
