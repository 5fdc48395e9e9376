package org.servicefarm.core.internal;

import java.time.Instant;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionPolicy;

/**
 * The eviction policies in force for the VM cap ({@code vmPolicy.target}) and for the content staged on a host whose
 * staging space runs short ({@code stagedPolicy.target}, {@link StagedSweep}); swappable at run time. The same
 * configuration's {@code imagePolicy.target} chooses the image cache's policy: the images bundle reads it (its
 * {@code ImageEviction} shares this PID), and this metatype describes all three.
 */
@Component(service = Eviction.class, configurationPid = Eviction.PID, property = {
        RefusedConfiguration.WITHOUT + "vmPolicy=no VM is evicted at the VM cap: requests that need a new VM wait",
        RefusedConfiguration.WITHOUT + "stagedPolicy=no staged content leaves a host whose staging space runs short"})
@Designate(ocd = Eviction.Config.class)
public class Eviction {

    static final String PID = "org.servicefarm.eviction";

    @ObjectClassDefinition(name = "ServiceFarm eviction",
            description = "Which eviction policies choose the VM to destroy when the farm's VM cap is reached, the "
                    + "images to delete when the image cache's budget is spent, and the images whose staged content "
                    + "leaves a host whose staging space runs short.")
    public @interface Config {
        @AttributeDefinition(name = "VM eviction policy", description = "An LDAP filter over the eviction "
                + "policies' service properties choosing the one used for the VM cap, e.g. (eviction.name=lru). "
                + "Takes effect without a restart.")
        String vmPolicy_target() default "(eviction.name=lru)";

        @AttributeDefinition(name = "Image eviction policy", description = "An LDAP filter over the eviction "
                + "policies' service properties choosing the one used for the image cache (the images bundle), e.g. "
                + "(eviction.name=gdsf). Images in use by a VM or being built are never evicted. Takes effect without "
                + "a restart.")
        String imagePolicy_target() default "(eviction.name=gdsf)";

        @AttributeDefinition(name = "Staged content eviction policy", description = "An LDAP filter over the "
                + "eviction policies' service properties choosing the one that orders the images whose staged content "
                + "leaves a host when its staging space reaches staged.spaceHighPercent (org.servicefarm.core), e.g. "
                + "(eviction.name=lru). Images a VM of the host runs from are never offered. Takes effect without a "
                + "restart.")
        String stagedPolicy_target() default "(eviction.name=lru)";
    }

    private volatile EvictionPolicy vmPolicy;
    private volatile EvictionPolicy stagedPolicy;

    @Reference(name = "vmPolicy", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindVmPolicy(EvictionPolicy policy) {
        vmPolicy = policy;
    }

    void unbindVmPolicy(EvictionPolicy policy) {
        if (vmPolicy == policy) {
            vmPolicy = null;
        }
    }

    @Reference(name = "stagedPolicy", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindStagedPolicy(EvictionPolicy policy) {
        stagedPolicy = policy;
    }

    void unbindStagedPolicy(EvictionPolicy policy) {
        if (stagedPolicy == policy) {
            stagedPolicy = null;
        }
    }

    @Modified
    void modified() {
        // DS rebinds 'vmPolicy' and 'stagedPolicy' to their new targets without deactivating us
    }

    /** The VM candidates in eviction order, or an empty list when no policy is in force. */
    List<EvictionCandidate> rankVms(List<EvictionCandidate> candidates, Instant now) {
        EvictionPolicy policy = vmPolicy;
        return policy == null ? List.of() : policy.rank(List.copyOf(candidates), now);
    }

    boolean hasVmPolicy() {
        return vmPolicy != null;
    }

    /** The images whose staged content may leave a host, in eviction order; empty when no policy is in force. */
    List<EvictionCandidate> rankStaged(List<EvictionCandidate> candidates, Instant now) {
        EvictionPolicy policy = stagedPolicy;
        return policy == null ? List.of() : policy.rank(List.copyOf(candidates), now);
    }

    boolean hasStagedPolicy() {
        return stagedPolicy != null;
    }
}
