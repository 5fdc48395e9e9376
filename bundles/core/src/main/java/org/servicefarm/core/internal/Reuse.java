package org.servicefarm.core.internal;

import java.util.Comparator;
import java.util.Map;
import java.util.Optional;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReusePolicy;
import org.servicefarm.api.reuse.ReuseRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the {@link ReusePolicy} in force and asks it how a request is served. The policy is chosen by
 * {@code reuse.target} and may change at any time: a decision reads it once. While none matches (one is being swapped
 * for another), when the one in force throws, or when its decision does not fit the request (a VM it does not list,
 * a grant that cannot be granted, work to join that is not under way), the core decides itself ({@link #FALLBACK}),
 * so no request fails for want of a policy.
 */
@Component(service = Reuse.class, configurationPid = Reuse.PID, property = RefusedConfiguration.WITHOUT
        + "reuse=the core decides reuse itself (" + Reuse.FALLBACK_NAME + ": the least loaded ACTIVE VM, no scaling "
        + "out)")
@Designate(ocd = Reuse.Config.class)
public class Reuse {

    static final String PID = "org.servicefarm.reuse";
    private static final Logger LOG = LoggerFactory.getLogger(Reuse.class);

    @ObjectClassDefinition(name = "ServiceFarm reuse",
            description = "Which reuse policy decides between the VMs offering a service and a new one.")
    public @interface Config {
        @AttributeDefinition(name = "reuse policy", description = "An LDAP filter over the reuse policies' service "
                + "properties choosing the one in force, e.g. (reuse.name=cost). Among several matches the highest "
                + "service.ranking wins. Takes effect without a restart; while none matches, the core grants the "
                + "least loaded ACTIVE VM, else wakes the most recently used resting one, else creates one.")
        String reuse_target() default "(reuse.name=default)";
    }

    /** A decision with the name of the policy that made it (or of what the core used instead, and why). */
    record Decided(ReuseDecision decision, String policy) {
    }

    private record Bound(ReusePolicy policy, String name) {
    }

    static final String FALLBACK_NAME = "built-in";

    /**
     * The core's own decision, for gaps only, so kept simple and never refusing: the least loaded ACTIVE VM whatever
     * its load (no scaling out, no thresholds); else the work under way; else the most recently used SLEEPING VM
     * (resume), else ARCHIVED one (restore); else wait for one being put to rest; else create. Ties by VM id.
     */
    static final ReusePolicy FALLBACK = request -> {
        Optional<ReusableVm> active = request.vms().stream().filter(ReusableVm::grantable)
                .min(Comparator.comparingDouble(ReusableVm::load).thenComparing(ReusableVm::id));
        if (active.isPresent()) {
            return ReuseDecision.grant(active.get().vm(), "least loaded ACTIVE VM (the core's own choice)");
        }
        Optional<ReuseDecision> join = request.join();
        if (join.isPresent()) {
            return join.get();
        }
        for (VmState resting : new VmState[] {VmState.SLEEPING, VmState.ARCHIVED}) {
            Optional<VmRecord> vm = request.vms().stream().map(ReusableVm::vm).filter(v -> v.state() == resting)
                    .max(Comparator.comparing(VmRecord::lastActivity).thenComparing(VmRecord::id,
                            Comparator.reverseOrder()));
            if (vm.isPresent()) {
                return ReuseDecision.then(ReuseDecision.wakeStep(vm.get()), vm.get(),
                        "most recently used " + resting + " VM (the core's own choice)");
            }
        }
        return request.waitForResting().orElse(ReuseDecision.then(Step.CREATE, null,
                "no VM offers it (the core's own choice)"));
    };

    private static final Bound BUILT_IN = new Bound(FALLBACK, FALLBACK_NAME);

    private volatile Bound bound = BUILT_IN;

    @Activate
    @Modified
    void configure(Config config) {
        // the target is applied by DS, which rebinds 'reuse' without deactivating us
    }

    @Reference(name = "reuse", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindPolicy(ReusePolicy policy, Map<String, Object> properties) {
        bound = new Bound(policy, String.valueOf(properties.get(ReusePolicy.NAME)));
    }

    synchronized void unbindPolicy(ReusePolicy policy) {
        if (bound.policy() == policy) {
            bound = BUILT_IN;
        }
    }

    /** The name of the policy in force now. */
    String inForce() {
        return bound.name();
    }

    /** How {@code request} is served, by the policy in force or, if it fails or answers what does not fit, the core. */
    Decided decide(ReuseRequest request) {
        Bound inForce = bound;
        if (inForce == BUILT_IN) {
            return new Decided(FALLBACK.decide(request), FALLBACK_NAME);
        }
        String why;
        try {
            ReuseDecision decision = inForce.policy().decide(request);
            why = misfit(decision, request);
            if (why == null) {
                return new Decided(decision, inForce.name());
            }
        } catch (RuntimeException e) {
            why = e.toString();
        }
        LOG.warn("Reuse policy {} failed for {}: {}; the core decides instead", inForce.name(),
                request.offering().key(), why);
        return new Decided(FALLBACK.decide(request), FALLBACK_NAME + " (" + inForce.name() + " failed: " + why + ")");
    }

    /** Why {@code decision} does not fit {@code request}, or {@code null} when the core can carry it out. */
    static String misfit(ReuseDecision decision, ReuseRequest request) {
        if (decision == null) {
            return "no decision";
        }
        if (decision.grant() != null && request.vm(decision.grant().id()).filter(ReusableVm::grantable).isEmpty()) {
            return "VM " + decision.grant().id() + " is not an ACTIVE VM of the offering with an endpoint";
        }
        VmRecord subject = decision.subject();
        if (subject != null && request.vm(subject.id()).filter(v -> v.vm().state() == subject.state()).isEmpty()) {
            return "VM " + subject.id() + " is not a " + subject.state() + " VM of the offering";
        }
        if (decision.step() == Step.JOIN && (subject == null ? request.creating() == null
                : !request.vm(subject.id()).map(ReusableVm::waking).orElse(false))) {
            return "it joins work that is not under way";
        }
        return null;
    }
}
