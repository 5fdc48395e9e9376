package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;

/**
 * The qemu driver through the SPI the core calls, on real QEMU (the busybox static-site image): a VM boots; a
 * checkpoint of the image is made; two VMs defined from the checkpoint image start at once from pool processes and
 * both answer on their own ports; a restarted connection adopts them; destroy removes everything; a host that leaves
 * the farm stops its pool processes; a deleted checkpoint takes its pool and files with it (not while VMs run from it).
 */
@Tag("real-qemu")
class QemuDriverRealTest {

    @TempDir
    Path root;

    @Test
    void bootsCheckpointsAndStartsTwoClonesThatAnswerAtOnce() throws Exception {
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        Image busybox = RealQemu.busyboxImage();
        Map<String, Object> config = new HashMap<>();
        config.put("stateDir", root.resolve("run").toString());
        config.put("dataDir", root.resolve("data").toString());
        config.put("imageDir", root.resolve("images").toString());
        config.put("runAs", RealQemu.userExists("libvirt-qemu") ? "libvirt-qemu" : "");
        QemuDriver driver = new QemuDriver();
        driver.activate(Converters.standardConverter().convert(config).to(QemuDriverConfig.class), null);
        HostRecord host = new HostRecord("qemu-test", "qemu", HostSettings.URI, new Capacity(8, 2048, 6), 0.05,
                "standard", Map.of("portRange", "31500-31599", "poolSize", "2"), 1.0);
        List<VmEvent> events = new CopyOnWriteArrayList<>();
        HostConnection connection = driver.connect(host, events::add);
        List<String> made = new ArrayList<>();
        try {
            ImageRef image = imageRef(busybox);
            StagedImage staged = connection.stage(image);
            assertTrue(staged.location(Artifact.Kind.KERNEL).orElseThrow().startsWith(root.resolve("images").toString()));

            HostCheckpoint checkpoint = connection.checkpoint(spec("tpl", staged));
            assertEquals(image.id(), checkpoint.imageId());
            assertEquals(List.of(checkpoint), connection.checkpoints());
            ImageRef cpImage = new ImageRef("cp-" + image.id() + "-qemu-test", image.offering(), ImageRef.Kind.CHECKPOINT,
                    List.of(), List.of(new Artifact(Artifact.Kind.CHECKPOINT, checkpoint.manifest(), checkpoint.sha256(),
                    checkpoint.sizeBytes())), "", checkpoint.sizeBytes());
            StagedImage stagedCp = connection.stage(cpImage);
            assertEquals(checkpoint.id(), stagedCp.location(Artifact.Kind.CHECKPOINT).orElseThrow());
            assertTrue(((QemuHostConnection) connection).awaitPool(checkpoint.id(), Duration.ofSeconds(60)));

            for (String vm : List.of("sf-clone-a", "sf-clone-b")) {
                connection.define(spec(vm, stagedCp));
                made.add(vm);
            }
            long t0 = System.nanoTime();
            List<CompletableFuture<Map<String, Endpoint>>> starts = new ArrayList<>();
            HostConnection first = connection;
            for (String vm : made) {
                starts.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return first.start(vm);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            List<Endpoint> endpoints = new ArrayList<>();
            for (CompletableFuture<Map<String, Endpoint>> start : starts) {
                endpoints.add(start.get().get("static-site"));
            }
            for (Endpoint endpoint : endpoints) {
                HttpProbe.awaitOk(endpoint.host(), endpoint.port(), "/", Duration.ofSeconds(10), Duration.ofMillis(400),
                        Duration.ofMillis(20));
                RealQemu.assertOk(endpoint.port(), "static-site");
            }
            System.out.println("two clones answering " + (System.nanoTime() - t0) / 1_000_000 + " ms after start");
            assertNotEquals(endpoints.get(0), endpoints.get(1));

            // a cold boot beside them, from the same staged image
            connection.define(spec("sf-booted", staged));
            made.add("sf-booted");
            Endpoint booted = connection.start("sf-booted").get("static-site");
            HttpProbe.awaitOk(booted.host(), booted.port(), "/", Duration.ofSeconds(120), Duration.ofMillis(400),
                    Duration.ofMillis(100));

            // suspend, archive and restore a clone
            connection.suspend("sf-clone-a");
            connection.resume("sf-clone-a");
            connection.save("sf-clone-a");
            Endpoint restored = connection.restore("sf-clone-a").get("static-site");
            HttpProbe.awaitOk(restored.host(), restored.port(), "/", Duration.ofSeconds(20), Duration.ofMillis(400),
                    Duration.ofMillis(20));

            // the appliance restarts: a new connection adopts every VM, with its record
            connection.close();
            connection = driver.connect(host, events::add);
            Map<String, VmState> states = new HashMap<>();
            for (GuestInfo guest : connection.guests()) {
                assertTrue(guest instanceof GuestInfo.Recorded, guest.toString());
                states.put(guest.vmId(), guest.state());
            }
            assertEquals(Map.of("sf-clone-a", VmState.ACTIVE, "sf-clone-b", VmState.ACTIVE, "sf-booted", VmState.ACTIVE),
                    states);
            assertEquals(List.of(), events);

            // a guest whose QEMU dies gives back its room at once (and its ports): the core only destroys the VM then
            int before = ((QemuHostConnection) connection).processes();
            long pid = Long.parseLong(Files.readString(root.resolve("run").resolve("qemu-test").resolve("sf-booted.pid")).trim());
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (events.stream().noneMatch(e -> e.vmId().equals("sf-booted") && e.observed() == VmState.FAILED)
                    && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            assertEquals(List.of("sf-booted"), events.stream().map(VmEvent::vmId).toList());
            assertEquals(before - 1, ((QemuHostConnection) connection).processes());
            connection.destroy("sf-booted");
            made.remove("sf-booted");

            // a checkpoint VMs run from is not deleted
            String cpId = checkpoint.id();
            HostConnection adopted = connection;
            assertThrows(HypervisorException.class, () -> adopted.deleteCheckpoint(cpId));
            for (String vm : made) {
                connection.destroy(vm);
            }
            made.clear();
            // the host leaves the farm: its idle pool processes stop
            assertTrue(((QemuHostConnection) connection).awaitPool(cpId, Duration.ofSeconds(60)));
            assertEquals(2, running().size(), "the pool's two processes");
            connection.retire();
            assertEquals(List.of(), running());
            // back in the farm: its checkpoint is found again and the pool refilled; deleting the checkpoint (its image
            // left the image store) empties the pool and removes its files
            connection = driver.connect(host, events::add);
            assertEquals(List.of(cpId), connection.checkpoints().stream().map(HostCheckpoint::id).toList());
            assertTrue(((QemuHostConnection) connection).awaitPool(cpId, Duration.ofSeconds(60)));
            connection.deleteCheckpoint(cpId);
            assertEquals(List.of(), connection.checkpoints());
            assertFalse(Files.exists(checkpoint.manifest().getParent()));
            assertEquals(List.of(), running());
        } finally {
            for (String vm : made) {
                connection.destroy(vm);
            }
            assertEquals(List.of(), connection.guests());
            connection.close();
            driver.deactivate();
            // what the pool left running (it outlives connections by design)
            QemuLauncher launcher = new QemuLauncher(QemuSettings.defaults().withDirectories(
                    root.resolve("run").resolve("qemu-test"), root.resolve("data").resolve("qemu-test").resolve("checkpoints"),
                    List.of(root.resolve("images"))));
            launcher.recover();
            launcher.guests().forEach(QemuGuest::kill);
        }
    }

    /** The QEMU processes named by the pid files of the host's state directory that run now. */
    private List<Long> running() throws Exception {
        List<Long> alive = new ArrayList<>();
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(root.resolve("run").resolve("qemu-test"), "*.pid")) {
            for (Path pid : pids) {
                long p = Long.parseLong(Files.readString(pid).trim());
                // a zombie (exited, not yet reaped by init) has no command any more
                if (ProcessHandle.of(p).filter(h -> h.isAlive() && h.info().command().orElse("").contains("qemu-system"))
                        .isPresent()) {
                    alive.add(p);
                }
            }
        }
        return alive;
    }

    private static VmSpec spec(String vmId, StagedImage image) {
        return new VmSpec(vmId, image.image().offering(), image, 1, 128,
                List.of(new VmSpec.GuestService("static-site", 80)), Instant.now());
    }

    private static ImageRef imageRef(Image image) throws Exception {
        List<Artifact> artifacts = List.of(
                new Artifact(Artifact.Kind.KERNEL, image.kernel(), QemuHostConnection.sha256(image.kernel()),
                        Files.size(image.kernel())),
                new Artifact(Artifact.Kind.INITRD, image.initrd(), QemuHostConnection.sha256(image.initrd()),
                        Files.size(image.initrd())));
        Offering offering = new Offering("static-site", "1.0", new Environment("busybox-1.35", "busybox-httpd", "none",
                List.of()), "standard");
        return new ImageRef(image.key(), offering, ImageRef.Kind.BUILT, List.of(), artifacts, image.cmdline(), 0, null,
                image.minMemoryMiB());
    }
}
