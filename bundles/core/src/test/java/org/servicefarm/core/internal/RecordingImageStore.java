package org.servicefarm.core.internal;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;

/** An image store that records the builds it is asked for; their state is what the test sets. */
final class RecordingImageStore implements ImageStore {

    record Build(Offering offering, List<VmSpec.GuestService> services) {
    }

    final List<Build> builds = new CopyOnWriteArrayList<>();
    final Map<String, ImageStatus.State> states = new ConcurrentHashMap<>();

    static String id(Offering offering) {
        return "img-" + Integer.toHexString(offering.key().hashCode());
    }

    @Override
    public ImageStatus build(Offering offering, List<VmSpec.GuestService> services) {
        builds.add(new Build(offering, services));
        String id = id(offering);
        states.put(id, ImageStatus.State.BUILDING);
        return status(id).orElseThrow();
    }

    @Override
    public Optional<ImageStatus> status(String id) {
        ImageStatus.State state = states.get(id);
        return state == null ? Optional.empty() : Optional.of(new ImageStatus(id, null, ImageRef.Kind.PREBUILT, state,
                new ImageStatus.Progress(0, 1, "building", 0, 0), 0, List.of(), Instant.EPOCH, null, 0, 0, null, null));
    }

    @Override
    public Optional<ImageRef> find(Offering offering) {
        return Optional.empty();
    }

    @Override
    public ImageRef obtain(Offering offering) {
        return ComposedImageStore.compose(offering);
    }

    @Override
    public List<ImageRef> images() {
        return List.of();
    }
}
