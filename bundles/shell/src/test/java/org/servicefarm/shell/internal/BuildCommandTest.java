package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

import org.apache.karaf.shell.support.CommandException;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStatus.Progress;
import org.servicefarm.api.image.ImageStatus.State;

/** farm:build without Karaf: the request it makes, the progress it prints, how it fails. */
class BuildCommandTest {

    static final Offering WIKI = new Offering("wiki", "2.1", new Environment("debian-12", "nginx-1.22", "php-8.2",
            List.of()), "standard");

    static ImageStatus status(State state, Progress progress, String detail) {
        return new ImageStatus("80bfb71f9ad57f2f281405fb", WIKI, ImageRef.Kind.PREBUILT, state, progress,
                26_214_400, List.of("os/debian-12/12", "server/nginx/1.22", "runtime/php/8.2", "app/wiki/2.1"),
                Instant.EPOCH, null, 0, 0, detail, null);
    }

    /** An ImageService whose build answers {@code outcome}, then whose image goes through {@code states}. */
    private static final class Scripted implements ImageService {
        final List<ServiceRequest> builds = new ArrayList<>();
        final Deque<ImageStatus> states = new ArrayDeque<>();
        BuildOutcome outcome;

        @Override
        public List<ComponentInfo> components() {
            return List.of();
        }

        @Override
        public List<ImageStatus> images() {
            return List.of();
        }

        @Override
        public Optional<ImageStatus> image(String id) {
            return Optional.ofNullable(states.size() > 1 ? states.poll() : states.peek());
        }

        @Override
        public BuildOutcome build(ServiceRequest request) {
            if (request.service().equals("bad")) {
                throw new InvalidRequestException("environment.os", "no such os");
            }
            builds.add(request);
            return outcome;
        }

        @Override
        public List<Demand> popularity() {
            return List.of();
        }
    }

    private final Scripted images = new Scripted();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private BuildCommand command(String service) {
        BuildCommand command = new BuildCommand();
        command.images = images;
        command.service = service;
        command.out = new PrintStream(out, true, StandardCharsets.UTF_8);
        command.poll = Duration.ofMillis(1);
        return command;
    }

    private String printed() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void followsTheBuildUntilItIsReady() throws Exception {
        ImageStatus queued = status(State.BUILDING, new Progress(0, 5, "queued", 0, 100), null);
        images.outcome = new BuildOutcome.Accepted(queued, WIKI, List.of("version", "server"));
        images.states.add(status(State.BUILDING, new Progress(1, 5, "making room in the image cache", 0, 100), null));
        images.states.add(status(State.BUILDING, new Progress(2, 5, "checking the kernel", 30, 100), null));
        images.states.add(status(State.BUILDING, new Progress(2, 5, "checking the kernel", 35, 100), null));
        images.states.add(status(State.BUILDING, new Progress(4, 5, "writing the initrd (5 layers)", 95, 100), null));
        images.states.add(status(State.READY, Progress.done(100), null));
        BuildCommand command = command("wiki");
        command.os = "debian-12";
        command.patches = List.of("p1");

        command.execute();

        assertEquals(new ServiceRequest("wiki", null, new Environment("debian-12", null, null, List.of("p1")), null,
                null, null), images.builds.get(0));
        assertEquals("""
                BUILDING wiki: image 80bfb71f9ad57f2f281405fb for wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]
                  filled in by the directory: version, server
                  queued, 0% of 100 B
                  step 1/5 making room in the image cache, 0% of 100 B
                  step 2/5 checking the kernel, 30% of 100 B
                  step 4/5 writing the initrd (5 layers), 90% of 100 B
                READY 80bfb71f9ad57f2f281405fb: 25.0 MiB in the store, 4 components
                """, printed(), "a line per step and per tenth of the bytes, not per poll");
    }

    @Test
    void noWaitPrintsWhatWasStartedAndReturns() throws Exception {
        images.outcome = new BuildOutcome.Accepted(status(State.BUILDING, new Progress(0, 5, "queued", 0, 0), null),
                WIKI, List.of());
        BuildCommand command = command("wiki");
        command.noWait = true;
        command.execute();
        assertEquals("BUILDING wiki: image 80bfb71f9ad57f2f281405fb for wiki@2.1/debian-12/nginx-1.22/php-8.2"
                + "[standard]\n  the request named every field\n", printed());
    }

    @Test
    void aFailedBuildFailsTheCommandSayingWhy() {
        images.outcome = new BuildOutcome.Accepted(status(State.BUILDING, new Progress(0, 5, "queued", 0, 0), null),
                WIKI, List.of());
        images.states.add(status(State.FAILED, new Progress(1, 5, "making room", 0, 0),
                "the image cache's budget of 1.0 MiB is spent"));
        CommandException failure = assertThrows(CommandException.class, () -> command("wiki").execute());
        assertTrue(failure.getMessage().contains("failed"), failure.getMessage());
        assertTrue(printed().contains("FAILED 80bfb71f9ad57f2f281405fb: the image cache's budget of 1.0 MiB is spent"),
                printed());
    }

    @Test
    void aCompositionOnlyImageSaysWhyItIsNotReal() throws Exception {
        ImageRef composition = new ImageRef("img-0123456789abcdef", WIKI, ImageRef.Kind.PREBUILT, List.of(), List.of(),
                "", 0, "no component repository is configured");
        ImageStatus ready = new ImageStatus(composition.id(), WIKI, ImageRef.Kind.PREBUILT, State.READY,
                Progress.done(0), 0, List.of(), Instant.EPOCH, null, 0, 0, composition.reason(), composition);
        images.outcome = new BuildOutcome.Accepted(ready, WIKI, List.of());
        command("wiki").execute();
        assertTrue(printed().startsWith("IMAGE wiki: image img-0123456789abcdef"), printed());
        assertTrue(printed().contains("READY img-0123456789abcdef: a composition only (no bootable files): no component "
                + "repository is configured"), printed());
    }

    @Test
    void refusalsNameTheOptionOrSayNever() {
        images.outcome = new BuildOutcome.Never("wiki needs PHP");
        CommandException never = assertThrows(CommandException.class, () -> command("wiki").execute());
        assertEquals("NEVER wiki: wiki needs PHP", never.getMessage());
        CommandException invalid = assertThrows(CommandException.class, () -> command("bad").execute());
        assertEquals("Invalid option --os: no such os", invalid.getMessage());
        BuildCommand trailing = command("wiki");
        trailing.trailing = List.of("--os", "debian-12");
        assertTrue(assertThrows(CommandException.class, trailing::execute).getMessage()
                .startsWith("Options come before SERVICE: farm:build [options] SERVICE"));
    }
}
