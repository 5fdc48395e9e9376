package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real QEMU guests (TCG, the busybox static-site image): a checkpoint, clones that answer at the same
 * time on their own ports, the pool, and a launching JVM killed under its guests. Runs only with
 * {@code -Preal-qemu}; takes about a minute.
 */
@Tag("real-qemu")
class RealQemuTest {

    private static final String PAGE = "static-site";

    @TempDir
    static Path root;

    private static QemuSettings settings;
    private static QemuLauncher launcher;
    private static PortRange ports;
    private static Checkpoint checkpoint;
    private static String ramHash;

    @BeforeAll
    static void checkpoint() throws Exception {
        settings = RealQemu.settings(root);
        launcher = QemuLauncher.create(settings);
        ports = new PortRange("127.0.0.1", 31000, 31999);
        Image image = RealQemu.busyboxImage();
        checkpoint = new Checkpointer(launcher, ports).create("rq", image, 128, List.of(80),
                Checkpointer.Options.defaults().withFullState(true));
        ramHash = sha256(checkpoint.ramFile());
        System.out.println("checkpoint " + checkpoint.timings() + " state " + Files.size(checkpoint.stateFile())
                + " B, full " + Files.size(checkpoint.fullStateFile()) + " B, machine " + checkpoint.machine());
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (launcher == null) {
            return;
        }
        launcher.recover();
        for (QemuGuest g : launcher.guests()) {
            g.kill();
        }
    }

    @Test
    void twoClonesAnswerAtOnceOnTheirOwnPorts() throws Exception {
        Cloner cloner = new Cloner(launcher);
        List<Integer> hostPorts = ports.allocate(2);
        List<CompletableFuture<QemuGuest>> starts = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int port = hostPorts.get(i);
            String name = "rq-two-" + i;
            starts.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return cloner.clone(checkpoint, name, List.of(new GuestSpec.Forward(port, 80)), Cloner.Mode.COPY_ON_WRITE,
                            Duration.ofSeconds(30));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        List<QemuGuest> clones = new ArrayList<>();
        for (CompletableFuture<QemuGuest> f : starts) {
            clones.add(f.get(60, TimeUnit.SECONDS));
        }
        try {
            for (int i = 0; i < 2; i++) {
                HttpProbe.awaitOk("127.0.0.1", hostPorts.get(i), "/", Duration.ofSeconds(20), Duration.ofMillis(400),
                        Duration.ofMillis(10));
            }
            // Both at once, each on its own port, each its own process.
            RealQemu.assertOk(hostPorts.get(0), PAGE);
            RealQemu.assertOk(hostPorts.get(1), PAGE);
            assertNotEquals(clones.get(0).pid(), clones.get(1).pid());
            for (QemuGuest c : clones) {
                assertEquals("running", c.status());
                System.out.println(c.name() + " " + c.memory());
            }
        } finally {
            clones.forEach(QemuGuest::kill);
            hostPorts.forEach(ports::release);
        }
        assertEquals(ramHash, sha256(checkpoint.ramFile()), "clones must not write the checkpoint's RAM file");
    }

    @Test
    void fullRestoreAnswersWithoutTheRamFile() throws Exception {
        int port = ports.allocate(1).get(0);
        QemuGuest clone = new Cloner(launcher).clone(checkpoint, "rq-full", List.of(new GuestSpec.Forward(port, 80)),
                Cloner.Mode.FULL, Duration.ofSeconds(30));
        try {
            HttpProbe.awaitOk("127.0.0.1", port, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            RealQemu.assertOk(port, PAGE);
            assertTrue(clone.state().argv().contains("memory-backend-ram,id=mem,size=128M"));
        } finally {
            clone.kill();
            ports.release(port);
        }
    }

    @Test
    void poolHandsOutClonesAndRefills() throws Exception {
        ClonePool.FixedCapacity capacity = new ClonePool.FixedCapacity(4, 1024);
        try (ClonePool pool = new ClonePool(new Cloner(launcher), ports, capacity, Duration.ofSeconds(30))) {
            pool.setSize(checkpoint, 2);
            assertTrue(pool.awaitFull(checkpoint.id(), Duration.ofSeconds(30)));
            assertEquals(2, capacity.processes());
            QemuGuest a = pool.claim(checkpoint);
            QemuGuest b = pool.claim(checkpoint);
            int portA = a.hostPort(80).orElseThrow();
            int portB = b.hostPort(80).orElseThrow();
            HttpProbe.awaitOk("127.0.0.1", portA, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            HttpProbe.awaitOk("127.0.0.1", portB, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            RealQemu.assertOk(portA, PAGE);
            RealQemu.assertOk(portB, PAGE);
            assertEquals(GuestState.Role.CLONE, a.state().role());
            // The pool refills behind the claims; the capacity caps it at 4 processes in all.
            assertTrue(pool.awaitFull(checkpoint.id(), Duration.ofSeconds(30)));
            assertEquals(4, capacity.processes());
            pool.retire(a);
            pool.retire(b);
            assertEquals(2, capacity.processes());
        }
        assertEquals(0, capacity.processes(), "closing the pool quits its idle processes");
    }

    @Test
    void aPortAddedAfterTheRestoreAnswers() throws Exception {
        int port = ports.allocate(1).get(0);
        QemuGuest clone = new Cloner(launcher).clone(checkpoint, "rq-late-port", List.of(), Cloner.Mode.COPY_ON_WRITE,
                Duration.ofSeconds(30));
        try {
            assertTrue(clone.forwards().isEmpty());
            clone.addForward(new GuestSpec.Forward(port, 80));
            HttpProbe.awaitOk("127.0.0.1", port, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            RealQemu.assertOk(port, PAGE);
            assertEquals(port, GuestState.read(clone.paths().state()).forwards().get(0).hostPort(), "recorded for recovery");
            IOException twice = assertThrows(IOException.class, () -> clone.addForward(new GuestSpec.Forward(port, 81)));
            assertTrue(twice.getMessage().contains("hostfwd_add"), twice.getMessage());
        } finally {
            clone.kill();
            ports.release(port);
        }
    }

    @Test
    void idlePoolProcessesAreAdoptedAfterARestart() throws Exception {
        ClonePool before = new ClonePool(new Cloner(launcher), ports, new ClonePool.FixedCapacity(4, 1024),
                Duration.ofSeconds(30));
        before.setSize(checkpoint, 2);
        assertTrue(before.awaitFull(checkpoint.id(), Duration.ofSeconds(30)));
        // The appliance stops: the pool lets go of its processes, which keep waiting.
        before.detach();

        QemuLauncher again = new QemuLauncher(launcher.settings());
        QemuLauncher.Recovery recovery = again.recover();
        ClonePool.FixedCapacity capacity = new ClonePool.FixedCapacity(4, 1024);
        try (ClonePool after = new ClonePool(new Cloner(again), new PortRange("127.0.0.1", 31000, 31999), capacity,
                Duration.ofSeconds(30))) {
            assertEquals(List.of(), after.adopt(recovery.attached(), List.of(checkpoint)), "no clones to account for");
            assertEquals(2, after.idle(checkpoint.id()));
            after.setSize(checkpoint, 2);
            assertTrue(after.awaitFull(checkpoint.id(), Duration.ofSeconds(30)));
            assertEquals(2, capacity.processes(), "the adopted processes fill the pool: none started");
            QemuGuest clone = after.claim(checkpoint);
            int port = clone.hostPort(80).orElseThrow();
            HttpProbe.awaitOk("127.0.0.1", port, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            RealQemu.assertOk(port, PAGE);
            after.retire(clone);
        }
        assertTrue(again.guests().isEmpty(), "closing the pool quit the idle processes");
    }

    @Test
    void aCloneGetsANewGenerationIdAndItsKernelReseeds() throws Exception {
        Image quiet = checkpoint.image();
        // loglevel=7 so that the kernel's notice reaches the serial console.
        Image verbose = new Image(quiet.key(), quiet.kernel(), quiet.initrd(), quiet.disk(),
                quiet.cmdline().replace("quiet", "loglevel=7"), quiet.minMemoryMiB());
        Checkpoint cp = new Checkpointer(launcher, ports).create("rqgen", verbose, 128, List.of(80),
                Checkpointer.Options.defaults());
        int port = ports.allocate(1).get(0);
        QemuGuest clone = new Cloner(launcher).clone(cp, "rq-gen", List.of(new GuestSpec.Forward(port, 80)),
                Cloner.Mode.COPY_ON_WRITE, Duration.ofSeconds(30));
        try {
            HttpProbe.awaitOk("127.0.0.1", port, "/", Duration.ofSeconds(20), Duration.ofMillis(400), Duration.ofMillis(10));
            String console = "";
            for (int i = 0; i < 100 && !console.contains("virtual machine fork"); i++) {
                Thread.sleep(50);
                console = Files.readString(clone.paths().serial());
            }
            assertTrue(console.contains("crng reseeded due to virtual machine fork"), "serial console: " + console);
        } finally {
            clone.kill();
            ports.release(port);
            new Checkpointer(launcher, ports).delete(cp);
        }
    }

    @Test
    void aSlotStartedForOneCheckpointRefusesAnother() throws Exception {
        int port = ports.allocate(1).get(0);
        Cloner cloner = new Cloner(launcher);
        QemuGuest slot = cloner.prepare(checkpoint, "rq-slot", List.of(new GuestSpec.Forward(port, 80)),
                Cloner.Mode.COPY_ON_WRITE, GuestState.Role.POOL);
        try {
            Checkpoint other = new Checkpoint("other", checkpoint.dir(), checkpoint.image(), 128, 1, List.of(80),
                    checkpoint.machine(), checkpoint.qemuVersion(), checkpoint.templateArgv(), checkpoint.normalizedArgv(),
                    false, 0, Map.of());
            IOException e = assertThrows(IOException.class,
                    () -> cloner.restore(slot, other, Cloner.Mode.COPY_ON_WRITE, Duration.ofSeconds(10)));
            assertTrue(e.getMessage().contains("started for checkpoint rq"), e.getMessage());
            assertEquals("inmigrate", slot.status());
        } finally {
            slot.kill();
            ports.release(port);
        }
    }

    @Test
    void guestsOutliveTheLaunchingJvmAndAreFoundAgain() throws Exception {
        int port = ports.allocate(1).get(0);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process helper = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                RestartHelper.class.getName(), root.toString(), checkpoint.id(), "rq-survivor", Integer.toString(port))
                .redirectErrorStream(true).start();
        long qemuPid;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(helper.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            String ready = null;
            while ((line = out.readLine()) != null) {
                System.out.println("helper: " + line);
                if (line.startsWith("READY ")) {
                    ready = line;
                    break;
                }
            }
            assertTrue(ready != null, "the helper JVM did not clone the checkpoint");
            qemuPid = Long.parseLong(ready.substring(6).trim());
            // SIGKILL: no shutdown hook, no clean close of the QMP socket, like a crashed appliance.
            helper.destroyForcibly();
            assertTrue(helper.waitFor(10, TimeUnit.SECONDS));
        }
        try {
            ProcessHandle qemu = ProcessHandle.of(qemuPid).orElseThrow(() -> new AssertionError("QEMU died with the JVM"));
            assertTrue(qemu.isAlive());
            assertNotEquals(helper.pid(), qemu.parent().map(ProcessHandle::pid).orElse(-1L),
                    "QEMU must not be the JVM's child");
            RealQemu.assertOk(port, PAGE);

            // A new "appliance": a new launcher on the same state directory.
            QemuLauncher again = new QemuLauncher(launcher.settings());
            QemuLauncher.Recovery recovery = again.recover();
            QemuGuest found = recovery.attached().stream().filter(g -> g.name().equals("rq-survivor")).findFirst()
                    .orElseThrow(() -> new AssertionError("not re-attached: " + recovery));
            assertEquals(qemuPid, found.pid());
            assertEquals(GuestState.Role.CLONE, found.state().role());
            assertEquals("running", found.status());
            found.pause();
            assertEquals("paused", found.status());
            found.resume();
            RealQemu.assertOk(port, PAGE);
            found.quit(Duration.ofSeconds(10));
            assertTrue(!found.alive(), "quit ends the process");
            assertTrue(Files.notExists(found.paths().state()), "files removed after quit");
            for (QemuGuest g : again.guests()) {
                g.detach();
            }
        } finally {
            ProcessHandle.of(qemuPid).ifPresent(ProcessHandle::destroyForcibly);
            ports.release(port);
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
