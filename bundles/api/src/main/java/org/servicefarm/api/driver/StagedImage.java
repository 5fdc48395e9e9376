package org.servicefarm.api.driver;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * An image made available on one host by {@link HostConnection#stage}: what {@link HostConnection#define} needs.
 *
 * @param image     the image
 * @param locations where each of its artifacts is on that host, in the driver's terms (a path on the host, a
 *                  storage volume, a disk id); empty for an image without artifacts
 */
public record StagedImage(ImageRef image, Map<Artifact.Kind, String> locations) {

    public StagedImage {
        Objects.requireNonNull(image, "image");
        locations = locations == null || locations.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(locations));
    }

    /** Where the artifact of the given kind is on the host, if the image has one. */
    public Optional<String> location(Artifact.Kind kind) {
        return Optional.ofNullable(locations.get(kind));
    }
}
