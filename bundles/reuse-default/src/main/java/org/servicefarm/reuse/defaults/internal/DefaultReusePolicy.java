package org.servicefarm.reuse.defaults.internal;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReuseName;
import org.servicefarm.api.reuse.ReusePolicy;
import org.servicefarm.api.reuse.ReuseRequest;

/**
 * The farm's usual reuse: the least loaded ACTIVE VM with headroom for the tier is granted. When every ACTIVE VM is
 * over the tier's load threshold, the least busy one is granted now and one more VM is brought into service in the
 * background, the cheapest way first: resume a SLEEPING one, restore an ARCHIVED one, or create one while the offering
 * has fewer than the tier's maxReplicas VMs. With no ACTIVE VM, a request joins the work under way (a creation, else a
 * waking VM), else waits for a resume, a restore, or a creation (whatever the replicas: something must serve), unless
 * a VM is being put to rest: it is woken once it rests, which costs less than a new one.
 * <p>
 * Ties: equally loaded ACTIVE VMs go to the older (created first), then by VM id; among resting VMs of one state the
 * most recently used is woken, then by VM id; work under way: the creation before a waking VM, waking VMs by id.
 */
@Component(configurationPid = DefaultReusePolicy.PID, property = "service.ranking:Integer=100")
@Designate(ocd = DefaultReusePolicy.Config.class)
@ReuseName("default")
public class DefaultReusePolicy implements ReusePolicy {

    static final String PID = "org.servicefarm.reuse.default";

    /** Nothing to tune; the configuration sets the service ranking DS copies onto the service. */
    @ObjectClassDefinition(id = PID, name = "ServiceFarm reuse: default",
            description = "Grants the least loaded ACTIVE VM under the tier's threshold, else scales out: resume, "
                    + "restore, create within the tier's replicas.")
    @interface Config {
        @AttributeDefinition(name = "Service ranking", description = "The ranking of this policy among the reuse "
                + "policies the core's target matches; the highest ranking is in force.")
        int service_ranking() default 100;
    }

    private static final Comparator<ReusableVm> LEAST_LOADED = Comparator.comparingDouble(ReusableVm::load)
            .thenComparing(v -> v.vm().createdAt(), Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(ReusableVm::id);

    @Override
    public ReuseDecision decide(ReuseRequest request) {
        List<ReusableVm> vms = request.vms();
        double threshold = request.tier().loadThreshold();
        String tier = request.tier().name();
        Optional<ReusableVm> idle = vms.stream().filter(ReusableVm::grantable).filter(v -> v.load() <= threshold)
                .min(LEAST_LOADED);
        if (idle.isPresent()) {
            // every warm grant passes here: the reason is built without a Formatter (a third of the manager's time)
            return ReuseDecision.grant(idle.get().vm(), "least loaded ACTIVE VM: load " + twoDecimals(idle.get().load())
                    + " within tier " + tier + "'s threshold " + twoDecimals(threshold));
        }
        ReuseDecision join = request.join().orElse(null);
        Optional<ReusableVm> busy = vms.stream().filter(ReusableVm::grantable).min(LEAST_LOADED);
        if (busy.isPresent()) {
            String why = "every ACTIVE VM is over tier " + tier + "'s threshold " + twoDecimals(threshold)
                    + "; the least busy (load " + twoDecimals(busy.get().load()) + ") serves now";
            if (join != null) {
                return ReuseDecision.grant(busy.get().vm(), why + " while " + join.reason());
            }
            return scaleOut(busy.get().vm(), request, false, why);
        }
        if (join != null) {
            return join;
        }
        ReuseDecision next = scaleOut(null, request, true, "no ACTIVE VM offers it");
        return next.step() == Step.CREATE ? request.waitForResting().orElse(next) : next;
    }

    /**
     * One more VM into service, the cheapest way first: resume, restore, or create (within the tier's maxReplicas
     * unless none serves at all); with {@code grant}, in the background.
     */
    private static ReuseDecision scaleOut(VmRecord grant, ReuseRequest request, boolean noneServes, String why) {
        for (VmState resting : new VmState[] {VmState.SLEEPING, VmState.ARCHIVED}) {
            Optional<VmRecord> vm = mostRecentlyUsed(request.vms(), resting);
            if (vm.isPresent()) {
                return new ReuseDecision(grant, ReuseDecision.wakeStep(vm.get()), vm.get(), why + "; the most "
                        + "recently used " + resting + " VM is woken" + (grant == null ? "" : " in the background"));
            }
        }
        int vms = request.vms().size();
        int max = request.tier().maxReplicas();
        if (noneServes || vms < max) {
            return new ReuseDecision(grant, Step.CREATE, null, why + "; a new VM is created" + (grant == null ? ""
                    : " in the background (" + vms + " of tier " + request.tier().name() + "'s " + max + " replicas)"));
        }
        return ReuseDecision.grant(grant, why + "; no more: the offering has " + vms + " VMs, tier "
                + request.tier().name() + "'s maxReplicas is " + max);
    }

    /** {@code value} as {@code String.format(Locale.ROOT, "%.2f", value)} writes it, without a Formatter. */
    static String twoDecimals(double value) {
        if (!Double.isFinite(value)) {
            return String.format(Locale.ROOT, "%.2f", value);
        }
        // the shortest decimal of the double, rounded half up: what the Formatter does for %.2f
        String text = BigDecimal.valueOf(value).setScale(2, RoundingMode.HALF_UP).toPlainString();
        return text.equals("0.00") && (value < 0 || 1 / value < 0) ? "-0.00" : text;
    }

    private static Optional<VmRecord> mostRecentlyUsed(List<ReusableVm> vms, VmState state) {
        return vms.stream().map(ReusableVm::vm).filter(vm -> vm.state() == state)
                .max(Comparator.comparing(VmRecord::lastActivity).thenComparing(VmRecord::id, Comparator.reverseOrder()));
    }
}
