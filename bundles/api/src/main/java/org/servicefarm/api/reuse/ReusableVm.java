package org.servicefarm.api.reuse;

import java.util.Objects;

import org.servicefarm.api.HostStatus;
import org.servicefarm.api.VmRecord;

/**
 * A VM offering the requested combination, with what a policy weighs.
 *
 * @param vm     its row in the state table, in whatever state it is (resting or moving)
 * @param load   its request rate now as a share of what one VM serves (the core's {@code vm.requestsPerMinute}):
 *               0 idle, 1 fully loaded, above 1 overloaded
 * @param host   its host now (cost per hour, load, zone), or {@code null} if the host is not configured any more
 * @param waking true while the core resumes or restores it; a request may join that work
 */
public record ReusableVm(VmRecord vm, double load, HostStatus host, boolean waking) {
    public ReusableVm {
        Objects.requireNonNull(vm, "vm");
    }

    public String id() {
        return vm.id();
    }

    /** Its host's cost per hour; unknown hosts count as the dearest there can be, so they are never preferred. */
    public double costPerHour() {
        return host == null ? Double.MAX_VALUE : host.host().costPerHour();
    }

    /** True when it can be granted now: ACTIVE with an endpoint (a VM adopted without one cannot). */
    public boolean grantable() {
        return vm.state() == org.servicefarm.api.VmState.ACTIVE && vm.endpoint() != null;
    }
}
