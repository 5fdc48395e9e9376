package org.servicefarm.api.image;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.ServiceRequest;

/**
 * The operator's face of images, implemented by the core: what the component repository holds, the
 * images the store holds and their builds, a build started for a request, and how popular each
 * offering is. Front ends (REST, shell) call it as they call {@link org.servicefarm.api.ServiceManager}.
 */
@ProviderType
public interface ImageService {

    /** Every component of the image store's repository; empty when it has none. */
    List<ComponentInfo> components();

    /** Every image the store holds or builds, with its state, progress and use. */
    List<ImageStatus> images();

    /** One image by id, or empty when the store holds none by that id. */
    Optional<ImageStatus> image(String id);

    /**
     * Resolves the request as {@link org.servicefarm.api.ServiceManager#request} does and starts building the
     * image of the offering it resolves to, in the background; returns at once. An image that is ready or being
     * built is not built again.
     *
     * @throws org.servicefarm.api.InvalidRequestException for a malformed request (nothing is built)
     */
    BuildOutcome build(ServiceRequest request);

    /** Request counts per offering over the popularity window, the most asked for first. */
    List<Demand> popularity();
}
