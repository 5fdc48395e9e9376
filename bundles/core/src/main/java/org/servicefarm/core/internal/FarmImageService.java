package org.servicefarm.core.internal;

import java.util.List;
import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;

/**
 * The core's image face for front ends: the image store in force (the highest-ranked), a build started
 * for a request the directory resolves (with the guest ports a VM of it will have, so the image built
 * ahead is the one a VM will use), and the popularity tracker's counts.
 */
@Component(service = ImageService.class)
public class FarmImageService implements ImageService {

    @Reference
    DirectoryView directory;
    @Reference
    GuestPorts ports;
    @Reference
    Popularity popularity;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;

    @Override
    public List<ComponentInfo> components() {
        return imageStore.components();
    }

    @Override
    public List<ImageStatus> images() {
        return imageStore.statuses();
    }

    @Override
    public Optional<ImageStatus> image(String id) {
        return imageStore.status(id);
    }

    @Override
    public BuildOutcome build(ServiceRequest request) {
        if (request == null) {
            throw new InvalidRequestException("a request is required");
        }
        Resolution resolution = directory.resolve(request);
        if (resolution instanceof Resolution.NotViable notViable) {
            return new BuildOutcome.Never(notViable.reason());
        }
        Resolution.Viable viable = (Resolution.Viable) resolution;
        Offering offering = viable.offering();
        return new BuildOutcome.Accepted(imageStore.build(offering, ports.of(offering)), offering, viable.filledIn());
    }

    @Override
    public List<Demand> popularity() {
        return popularity.demand();
    }
}
