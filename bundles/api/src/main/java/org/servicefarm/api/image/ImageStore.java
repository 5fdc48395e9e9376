package org.servicefarm.api.image;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.VmSpec;

/**
 * The image store: finds or builds the image for an offering (checkpoint before pre-built before built).
 * The highest-ranked store is in force. The default methods are what a store that holds compositions only
 * answers; a store that builds bootable images overrides them.
 */
@ConsumerType
public interface ImageStore {

    /** The image at hand for the offering, without building. */
    Optional<ImageRef> find(Offering offering);

    /** The image for the offering, built from its components if none is at hand. May take long. */
    ImageRef obtain(Offering offering) throws ImageException;

    /** Every image held. */
    List<ImageRef> images();

    /**
     * The image for the offering whose guest runs {@code services} on their guest ports (as the VM's
     * {@link VmSpec#services()} will name them), built if none is at hand; concurrent callers for the same
     * image wait for one build. May take long.
     *
     * @throws ImageException if it cannot be built, saying why
     * @since 1.1
     */
    default ImageRef obtain(Offering offering, List<VmSpec.GuestService> services) throws ImageException {
        return obtain(offering);
    }

    /**
     * Starts building the image {@link #obtain(Offering, List)} would return, ahead of demand, and returns its
     * status at once; an image that is ready or being built is not built again. The default obtains the
     * image at once, as a store of compositions does.
     *
     * @throws IllegalStateException (the default only) if the image cannot be had
     * @since 1.1
     */
    default ImageStatus build(Offering offering, List<VmSpec.GuestService> services) {
        try {
            return ImageStatus.ready(obtain(offering, services), Instant.now());
        } catch (ImageException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /**
     * Why the image {@link #obtain(Offering, List)} would return now is a composition only (no bootable files, as
     * {@link ImageRef#reason()} would say), or empty when it would be bootable; told without building, so that an
     * explanation or a policy can place it as a creation would. The default tells by the image at hand
     * ({@link #find}), else as a store of compositions only; a store that builds bootable images overrides it.
     *
     * @since 2.3
     */
    default Optional<String> compositionOnlyBecause(Offering offering, List<VmSpec.GuestService> services) {
        Optional<ImageRef> atHand = find(offering);
        if (atHand.isPresent() && !atHand.get().compositionOnly()) {
            return Optional.empty();
        }
        return Optional.of(atHand.map(ImageRef::reason).orElse("the image store in force holds compositions only"));
    }

    /**
     * Every image held or being built, with its state and use.
     *
     * @since 1.1
     */
    default List<ImageStatus> statuses() {
        Instant now = Instant.now();
        return images().stream().map(image -> ImageStatus.ready(image, now)).toList();
    }

    /**
     * One image by id, or empty.
     *
     * @since 1.1
     */
    default Optional<ImageStatus> status(String id) {
        return statuses().stream().filter(status -> status.id().equals(id)).findFirst();
    }

    /**
     * The components the store builds images from; empty for a store without a component repository.
     *
     * @since 1.1
     */
    default List<ComponentInfo> components() {
        return List.of();
    }

    /**
     * The checkpoint of image {@code imageId} that {@code host} holds, as an image of kind
     * {@link ImageRef.Kind#CHECKPOINT CHECKPOINT} whose {@link Artifact.Kind#CHECKPOINT CHECKPOINT} artifact is the
     * checkpoint's manifest on that host; empty when none is recorded. A new VM placed on that host starts from it
     * instead of booting (checkpoint before pre-built before built); on any other host it boots {@code imageId}.
     *
     * @since 2.2
     */
    default Optional<ImageRef> checkpoint(String imageId, String host) {
        return Optional.empty();
    }

    /**
     * Records a checkpoint a host made of one of this store's images ({@link
     * org.servicefarm.api.driver.HostConnection#checkpoint}) and returns it as an image; empty when the store does
     * not hold that image (a checkpoint of an image the store no longer has is of no use) or keeps no checkpoints.
     * It is forgotten with its image.
     *
     * @since 2.2
     */
    default Optional<ImageRef> recordCheckpoint(HostCheckpoint checkpoint) {
        return Optional.empty();
    }

    /**
     * Forgets a recorded checkpoint (its host lost it, or restoring it failed): the next VM boots its image.
     *
     * @since 2.2
     */
    default void forgetCheckpoint(String imageId, String host) {
    }
}
