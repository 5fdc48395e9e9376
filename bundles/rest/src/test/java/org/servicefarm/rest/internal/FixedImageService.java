package org.servicefarm.rest.internal;

import java.time.Duration;
import java.time.Instant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;

/** An ImageService test double with fixed records: builds answered through a function the test sets. */
final class FixedImageService implements ImageService {

    static final String SHA = "c".repeat(64);
    static final ImageRef WIKI_IMAGE = new ImageRef("80bfb71f9ad57f2f281405fb", FixedServiceManager.WIKI,
            ImageRef.Kind.BUILT, List.of(), List.of(new Artifact(Artifact.Kind.KERNEL, Path.of("/secret/kernel"), SHA, 8),
            new Artifact(Artifact.Kind.INITRD, Path.of("/secret/initrd"), SHA, 25)), "console=ttyS0", 25, null);
    static final ImageStatus READY = new ImageStatus(WIKI_IMAGE.id(), FixedServiceManager.WIKI, ImageRef.Kind.BUILT,
            ImageStatus.State.READY, ImageStatus.Progress.done(33), 25, List.of("os/debian-12/12", "app/wiki/2.1"),
            Instant.parse("2026-01-01T10:00:00Z"), Instant.parse("2026-01-01T10:05:00Z"), 4, 1, null, WIKI_IMAGE);
    static final ImageStatus BUILDING = new ImageStatus("0123456789abcdef01234567", FixedServiceManager.BLOG,
            ImageRef.Kind.PREBUILT, ImageStatus.State.BUILDING,
            new ImageStatus.Progress(3, 5, "writing the initrd (5 layers)", 750, 1000), 1000, List.of(),
            Instant.parse("2026-01-01T11:00:00Z"), null, 0, 0, null, null);

    Function<ServiceRequest, BuildOutcome> answer;
    final List<ServiceRequest> builds = new ArrayList<>();

    FixedImageService() {
        reset();
    }

    void reset() {
        answer = request -> new BuildOutcome.Never("no rule");
        builds.clear();
    }

    @Override
    public List<ComponentInfo> components() {
        return List.of(new ComponentInfo("server/nginx/1.22.1-9+deb12u11", ComponentInfo.Kind.SERVER, "nginx",
                "1.22.1-9+deb12u11", List.of("server:nginx", "server:nginx-1.22"), List.of("abi:glibc-2.36"),
                Map.of("initrd-layer", 3043982L)));
    }

    @Override
    public List<ImageStatus> images() {
        return List.of(READY, BUILDING);
    }

    @Override
    public Optional<ImageStatus> image(String id) {
        return images().stream().filter(image -> image.id().equals(id)).findFirst();
    }

    @Override
    public BuildOutcome build(ServiceRequest request) {
        builds.add(request);
        return answer.apply(request);
    }

    @Override
    public List<Demand> popularity() {
        return List.of(new Demand(FixedServiceManager.WIKI, 12, Duration.ofMinutes(10), 10, WIKI_IMAGE.id()));
    }
}
