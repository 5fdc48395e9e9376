package org.servicefarm.core.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;

/**
 * The replay's image store when its hosts make checkpoints: the built-in store's compositions ({@link
 * ComposedImageStore#compose}, same ids), each with a disk artifact as a store of bootable images gives (a
 * composition only is never checkpointed), and the checkpoints hosts made of them, recorded as images of kind
 * CHECKPOINT as the appliance's image cache records them. Building takes no virtual time: the replay measures
 * keep-alive, not image builds.
 */
final class SimulatedImageStore implements ImageStore {

    private static final long DISK_BYTES = 64L << 20;
    private final Map<Offering, ImageRef> images = new ConcurrentHashMap<>();
    /** Checkpoints by "image id@host". */
    private final Map<String, ImageRef> checkpoints = new ConcurrentHashMap<>();

    @Override
    public Optional<ImageRef> find(Offering offering) {
        return Optional.ofNullable(images.get(offering));
    }

    @Override
    public ImageRef obtain(Offering offering) {
        return images.computeIfAbsent(offering, o -> {
            ImageRef composed = ComposedImageStore.compose(o);
            Artifact disk = new Artifact(Artifact.Kind.DISK, Path.of("/sim/images", composed.id() + ".qcow2"),
                    SimulatedHypervisor.sha256(composed.id()), DISK_BYTES);
            return new ImageRef(composed.id(), o, ImageRef.Kind.BUILT, composed.layers(), List.of(disk), "",
                    DISK_BYTES);
        });
    }

    @Override
    public List<ImageRef> images() {
        List<ImageRef> all = new ArrayList<>(images.values());
        all.addAll(checkpoints.values());
        return all;
    }

    @Override
    public Optional<ImageRef> checkpoint(String imageId, String host) {
        return Optional.ofNullable(checkpoints.get(imageId + "@" + host));
    }

    @Override
    public Optional<ImageRef> recordCheckpoint(HostCheckpoint checkpoint) {
        Optional<ImageRef> source = images.values().stream().filter(i -> i.id().equals(checkpoint.imageId()))
                .findFirst();
        return source.map(image -> checkpoints.computeIfAbsent(image.id() + "@" + checkpoint.host(), key -> {
            Artifact saved = new Artifact(Artifact.Kind.CHECKPOINT, checkpoint.manifest(), checkpoint.sha256(),
                    checkpoint.sizeBytes());
            List<Artifact> artifacts = new ArrayList<>(image.artifacts());
            artifacts.add(saved);
            return new ImageRef("cp-" + key, image.offering(), ImageRef.Kind.CHECKPOINT, image.layers(), artifacts,
                    "", checkpoint.sizeBytes());
        }));
    }

    @Override
    public void forgetCheckpoint(String imageId, String host) {
        checkpoints.remove(imageId + "@" + host);
    }
}
