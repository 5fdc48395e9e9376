package org.servicefarm.images.internal;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.eviction.EvictionPolicy;

/**
 * The eviction policy in force for the image cache, chosen by {@code imagePolicy.target} in the
 * eviction configuration ({@code etc/org.servicefarm.eviction.cfg}, beside the core's
 * {@code vmPolicy.target}; the core's metatype describes both); swappable at run time: a changed target
 * rebinds the reference without restarting anything.
 */
@Component(service = ImageEviction.class, configurationPid = ImageEviction.PID, property = RefusedConfiguration.WITHOUT
        + "imagePolicy=no image is evicted when the image cache's budget is spent: images that need room are not built")
public class ImageEviction implements ImageCache.Ranker {

    /** The core's eviction PID: one file chooses the VM and the image policy. */
    static final String PID = "org.servicefarm.eviction";

    private volatile EvictionPolicy imagePolicy;

    /** The target when the configuration names none: the core's metatype default. */
    static final String DEFAULT_TARGET = "(eviction.name=gdsf)";

    @Reference(name = "imagePolicy", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, target = DEFAULT_TARGET)
    void bindImagePolicy(EvictionPolicy policy) {
        imagePolicy = policy;
    }

    void unbindImagePolicy(EvictionPolicy policy) {
        if (imagePolicy == policy) {
            imagePolicy = null;
        }
    }

    @Modified
    void modified() {
        // DS rebinds 'imagePolicy' to the new target without deactivating us
    }

    @Override
    public Optional<List<EvictionCandidate>> rank(List<EvictionCandidate> candidates, Instant now) {
        EvictionPolicy policy = imagePolicy;
        return policy == null ? Optional.empty() : Optional.of(policy.rank(List.copyOf(candidates), now));
    }
}
