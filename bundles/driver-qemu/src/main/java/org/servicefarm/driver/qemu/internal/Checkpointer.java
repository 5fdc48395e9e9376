package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes checkpoints: boots a template from an image with its RAM in the checkpoint's {@code ram} file
 * (mapped shared), waits until every service answers HTTP 200 on its forwarded port, then pauses it and
 * saves its device state with {@code x-ignore-shared} (the RAM is in the file already), and quits it:
 * the template never runs again, so the file stays as the state describes it.
 */
public final class Checkpointer {

    /** Longest checkpoint id: names derived from it ({@code tpl-ID}, {@code ID-xxxxxx}) must stay within 48. */
    public static final int MAX_ID = 36;

    private final QemuLauncher launcher;
    private final PortRange ports;

    /** How to make one checkpoint. */
    public record Options(Duration readyTimeout, String readyPath, Duration settle, boolean fullState, int vcpus) {
        public Options {
            if (!readyPath.startsWith("/") || !readyPath.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("readyPath must be an absolute URL path");
            }
        }

        public static Options defaults() {
            return new Options(Duration.ofSeconds(120), "/", Duration.ofMillis(300), false, 1);
        }

        public Options withFullState(boolean full) {
            return new Options(readyTimeout, readyPath, settle, full, vcpus);
        }
    }

    public Checkpointer(QemuLauncher launcher, PortRange ports) {
        this.launcher = launcher;
        this.ports = ports;
    }

    /**
     * Boots {@code image} and checkpoints it as {@code id} once every port in {@code guestPorts} answers.
     *
     * @throws IOException when the template does not start or answer in time, or the save fails; no
     *         partial checkpoint is left behind
     */
    public Checkpoint create(String id, Image image, int memoryMiB, List<Integer> guestPorts, Options options)
            throws IOException {
        Checks.name("checkpoint id", id);
        if (id.length() > MAX_ID) {
            throw new IllegalArgumentException("checkpoint id must be at most " + MAX_ID + " characters");
        }
        QemuSettings settings = launcher.settings();
        Path dir = settings.checkpointDir().resolve(id);
        if (Files.exists(dir.resolve("manifest.json"))) {
            throw new IOException("checkpoint " + id + " exists");
        }
        deleteTree(dir);
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        List<Integer> hostPorts = ports.allocate(guestPorts.size());
        List<GuestSpec.Forward> forwards = new ArrayList<>();
        for (int i = 0; i < guestPorts.size(); i++) {
            forwards.add(new GuestSpec.Forward(hostPorts.get(i), guestPorts.get(i)));
        }
        Path ram = dir.resolve("ram");
        GuestSpec spec = new GuestSpec("tpl-" + id, image, memoryMiB, options.vcpus(), GuestSpec.Ram.shared(ram), forwards,
                false);
        Map<String, Long> timings = new LinkedHashMap<>();
        boolean complete = false;
        long t0 = System.nanoTime();
        QemuGuest template = null;
        try {
            template = launcher.launch(spec, GuestState.Role.TEMPLATE, id);
            timings.put("launch", ms(System.nanoTime() - t0));
            for (GuestSpec.Forward f : forwards) {
                HttpProbe.awaitOk(settings.bindAddress(), f.hostPort(), options.readyPath(), options.readyTimeout(),
                        Duration.ofMillis(400), Duration.ofMillis(50));
            }
            timings.put("bootToReady", ms(System.nanoTime() - t0));
            // Let the probes' connections finish closing in the guest before its network state is saved.
            sleep(options.settle());
            Checkpoint probe = new Checkpoint(id, dir, image, memoryMiB, options.vcpus(), guestPorts, settings.machine(),
                    "", List.of(), List.of(), false, 0, Map.of());
            long t1 = System.nanoTime();
            template.pause();
            if (options.fullState()) {
                Migration.save(template, probe.fullStateFile(), false, settings.runAs(), Duration.ofSeconds(120));
                timings.put("saveFull", ms(System.nanoTime() - t1));
                // QEMU refuses a second migration of a guest paused by one: run it for an instant, pause again.
                template.resume();
                template.pause();
            }
            long t2 = System.nanoTime();
            Migration.save(template, probe.stateFile(), true, settings.runAs(), Duration.ofSeconds(60));
            timings.put("saveDeviceState", ms(System.nanoTime() - t2));
            template.quit(Duration.ofSeconds(10));
            Files.setPosixFilePermissions(ram, PosixFilePermissions.fromString("r--r-----"));
            List<String> argv = template.state().argv();
            Checkpoint checkpoint = new Checkpoint(id, dir, image, memoryMiB, options.vcpus(), guestPorts,
                    settings.machine(), launcher.qemuVersion(), argv, CommandLine.normalized(argv), options.fullState(),
                    System.currentTimeMillis(), timings);
            checkpoint.write();
            complete = true;
            return checkpoint;
        } finally {
            if (template != null && template.alive()) {
                template.quit(Duration.ofSeconds(10));
            }
            hostPorts.forEach(ports::release);
            if (!complete) {
                deleteTree(dir);
            }
        }
    }

    /** The complete checkpoints in the checkpoint directory; interrupted ones (no manifest) are removed. */
    public List<Checkpoint> list() throws IOException {
        List<Checkpoint> out = new ArrayList<>();
        Path root = launcher.settings().checkpointDir();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path dir : dirs) {
                if (!Checks.NAME.matcher(dir.getFileName().toString()).matches()) {
                    continue;
                }
                if (!Files.exists(dir.resolve("manifest.json"))) {
                    // A template may still be writing it: only a directory no live template names is removed.
                    if (launcher.guests().stream().noneMatch(g -> dir.getFileName().toString().equals(g.state().checkpoint()))) {
                        deleteTree(dir);
                    }
                    continue;
                }
                out.add(Checkpoint.read(dir));
            }
        }
        return out;
    }

    /** Removes a checkpoint (its clones keep running: their RAM mapping holds the file's pages). */
    public void delete(Checkpoint checkpoint) throws IOException {
        Files.deleteIfExists(checkpoint.manifestFile());
        deleteTree(checkpoint.dir());
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
