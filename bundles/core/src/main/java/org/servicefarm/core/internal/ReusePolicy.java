package org.servicefarm.core.internal;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.core.internal.FarmServiceManager.Work;

/**
 * The reuse policy: whether a request is served by a VM the farm has (the least loaded ACTIVE one with headroom for the
 * tier, a SLEEPING one to resume, an ARCHIVED one to restore) or by a new one, decided from the offering's rows without
 * acting, so {@link FarmServiceManager#explain} says what {@link FarmServiceManager#serve} does.
 */
final class ReusePolicy {

    /** How one more VM of an offering is brought into service. */
    enum Step { NONE, RESUME, RESTORE, CREATE, WAIT }

    /**
     * What serving an offering takes now: a VM to grant at once, or work under way to join, and a step that brings one
     * more VM into service in the background, on {@code subject} for a resume or restore; WAIT when a VM of the
     * offering is being put to sleep or archived (it is woken once it rests, which costs less than a new one).
     */
    record Plan(VmRecord grant, Work join, Step step, VmRecord subject) {
    }

    private final Map<String, LoadMeter> loads;
    private final LongSupplier loadClock;
    private final Supplier<Settings> settings;

    ReusePolicy(Map<String, LoadMeter> loads, LongSupplier loadClock, Supplier<Settings> settings) {
        this.loads = loads;
        this.loadClock = loadClock;
        this.settings = settings;
    }

    Plan plan(Offering offering, List<VmRecord> vms, Settings.Tier tier, Work creation, Map<String, Work> activations) {
        Optional<VmRecord> idle = leastLoadedActive(vms, tier.loadThreshold());
        if (idle.isPresent()) {
            return new Plan(idle.get(), null, Step.NONE, null);
        }
        Work underWay = Optional.ofNullable(creation).orElseGet(() -> vms.stream()
                .map(vm -> activations.get(vm.id())).filter(Objects::nonNull).findFirst().orElse(null));
        Optional<VmRecord> busy = leastLoadedActive(vms, Double.POSITIVE_INFINITY);
        if (busy.isPresent()) {
            // every ACTIVE VM is busy: serve on the least busy now and scale out in the background
            return underWay == null ? scaleOut(busy.get(), vms, tier, false)
                    : new Plan(busy.get(), null, Step.NONE, null);
        }
        if (underWay != null) {
            return new Plan(null, underWay, Step.NONE, null);
        }
        Plan next = scaleOut(null, vms, tier, true);
        if (next.step() == Step.CREATE) {
            Optional<VmRecord> resting = vms.stream().filter(vm -> vm.state() == VmState.SUSPENDING
                    || vm.state() == VmState.ARCHIVING).findFirst();
            if (resting.isPresent()) {
                return new Plan(null, null, Step.WAIT, resting.get());
            }
        }
        return next;
    }

    /**
     * Brings one more VM of the offering into service, the cheapest way first: resume a SLEEPING
     * one, restore an ARCHIVED one, or create one, the last only within the tier's replicas
     * unless no VM can serve at all.
     */
    private static Plan scaleOut(VmRecord grant, List<VmRecord> vms, Settings.Tier tier, boolean noneServes) {
        Optional<VmRecord> sleeping = mostRecentlyUsed(vms, VmState.SLEEPING);
        if (sleeping.isPresent()) {
            return new Plan(grant, null, Step.RESUME, sleeping.get());
        }
        Optional<VmRecord> archived = mostRecentlyUsed(vms, VmState.ARCHIVED);
        if (archived.isPresent()) {
            return new Plan(grant, null, Step.RESTORE, archived.get());
        }
        return new Plan(grant, null, noneServes || vms.size() < tier.maxReplicas() ? Step.CREATE : Step.NONE, null);
    }

    Optional<VmRecord> leastLoadedActive(List<VmRecord> vms, double loadThreshold) {
        long now = loadClock.getAsLong();
        VmRecord best = null;
        double bestLoad = Double.MAX_VALUE;
        for (VmRecord vm : vms) {
            // an ACTIVE VM without an endpoint (adopted from a host that did not know it) cannot be granted
            if (vm.state() != VmState.ACTIVE || vm.endpoint() == null) {
                continue;
            }
            LoadMeter meter = loads.get(vm.id());
            double load = meter == null ? 0 : meter.perMinute(now) / settings.get().requestsPerMinutePerVm();
            if (load <= loadThreshold && load < bestLoad) {
                best = vm;
                bestLoad = load;
            }
        }
        return Optional.ofNullable(best);
    }

    private static Optional<VmRecord> mostRecentlyUsed(List<VmRecord> vms, VmState state) {
        return vms.stream().filter(vm -> vm.state() == state)
                .max(Comparator.comparing(VmRecord::lastActivity));
    }
}
