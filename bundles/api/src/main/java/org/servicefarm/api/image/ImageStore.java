package org.servicefarm.api.image;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.Offering;

/** The image store: finds or builds the image for an offering (checkpoint before pre-built before built). */
@ConsumerType
public interface ImageStore {

    /** The image at hand for the offering, without building. */
    Optional<ImageRef> find(Offering offering);

    /** The image for the offering, built from its components if none is at hand. May take long. */
    ImageRef obtain(Offering offering) throws ImageException;

    /** Every image held. */
    List<ImageRef> images();
}
