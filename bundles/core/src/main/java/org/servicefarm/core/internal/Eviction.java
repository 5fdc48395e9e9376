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
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionPolicy;

/**
 * The eviction policy in force for the VM cap, chosen by {@code vmPolicy.target}; swappable at run time. The
 * same configuration's {@code imagePolicy.target} chooses the image cache's policy: the images bundle reads it
 * (its {@code ImageEviction} shares this PID), and this metatype describes both.
 */
@Component(service = Eviction.class, configurationPid = Eviction.PID)
@Designate(ocd = Eviction.Config.class)
public class Eviction {

    static final String PID = "org.servicefarm.eviction";

    @ObjectClassDefinition(name = "ServiceFarm eviction",
            description = "Which eviction policies choose the VM to destroy when the farm's VM cap is reached, and the "
                    + "images to delete when the image cache's budget is spent.")
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
    }

    private volatile EvictionPolicy vmPolicy;

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

    @Modified
    void modified() {
        // DS rebinds 'vmPolicy' to the new target without deactivating us
    }

    /** The VM candidates in eviction order, or an empty list when no policy is in force. */
    List<EvictionCandidate> rankVms(List<EvictionCandidate> candidates, Instant now) {
        EvictionPolicy policy = vmPolicy;
        return policy == null ? List.of() : policy.rank(List.copyOf(candidates), now);
    }

    boolean hasVmPolicy() {
        return vmPolicy != null;
    }
}
