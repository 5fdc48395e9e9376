package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state files a launcher leaves, and what a new launcher makes of them: live processes with the
 * recorded argv are attached, anything else is stale and cleaned up, and nothing that cannot be
 * proven to be ours is signalled. Stand-in processes are {@code sleep}s; QMP is a {@link FakeQmpServer}.
 */
class LauncherRecoveryTest {

    @TempDir
    Path tmp;

    private QemuSettings settings;
    private Process sleeper;

    @BeforeEach
    void setUp() throws IOException {
        Path images = Files.createDirectories(tmp.resolve("images"));
        settings = QemuSettings.defaults().withDirectories(tmp.resolve("state"), tmp.resolve("cp"), List.of(images));
    }

    @AfterEach
    void tearDown() {
        if (sleeper != null) {
            sleeper.destroyForcibly();
        }
    }

    private Process sleep() throws IOException {
        sleeper = new ProcessBuilder("sleep", "120").start();
        return sleeper;
    }

    private GuestState stateOf(String name, GuestState.Phase phase, long pid, List<String> argv) {
        long ticks = pid > 0 ? ProcInfo.startTicks(pid).orElse(0) : 0;
        return new GuestState(name, GuestState.Role.CLONE, phase, pid, ticks, argv,
                List.of(new GuestSpec.Forward(31000, 80)), "cp1", 1700000000000L);
    }

    @Test
    void stateFilesRoundTrip() throws IOException {
        new QemuLauncher(settings);
        GuestState s = stateOf("g1", GuestState.Phase.INCOMING, 4242, List.of("qemu", "-name", "guest=g1"));
        Path file = settings.stateDir().resolve("g1.json");
        s.write(file);
        assertEquals(s, GuestState.read(file));
        assertFalse(Files.exists(settings.stateDir().resolve("g1.json.tmp")), "written through a renamed temporary file");
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(settings.stateDir())));
        Files.writeString(file, "{\"schema\": \"other/1\"}");
        assertThrows(IOException.class, () -> GuestState.read(file));
    }

    @Test
    void attachesALiveProcessWithItsArgvAndQmp() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Process p = sleep();
        GuestState s = stateOf("live", GuestState.Phase.RUNNING, p.pid(), List.of("sleep", "120"));
        GuestPaths paths = GuestPaths.of(settings.stateDir(), "live");
        s.write(paths.state());
        try (FakeQmpServer qmp = new FakeQmpServer(paths.qmp(), cmd -> cmd.get("execute").equals("query-status")
                ? List.of(FakeQmpServer.reply(cmd, "{\"status\": \"running\"}")) : FakeQmpServer.ok(cmd))) {
            QemuLauncher.Recovery r = launcher.recover();
            assertEquals(1, r.attached().size(), r.toString());
            QemuGuest g = r.attached().get(0);
            assertEquals(p.pid(), g.pid());
            assertEquals("running", g.status());
            assertEquals(31000, g.hostPort(80).orElseThrow());
            assertTrue(g.alive());
            // A second recover leaves attached guests alone.
            assertEquals(0, launcher.recover().attached().size());
            g.detach();
            assertTrue(p.isAlive(), "detach leaves the process running");
            assertTrue(Files.exists(paths.state()), "and its files");
        }
    }

    @Test
    void removesTheFilesOfAGuestThatIsGone() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Process p = sleep();
        long pid = p.pid();
        GuestState s = stateOf("dead", GuestState.Phase.RUNNING, pid, List.of("sleep", "120"));
        GuestPaths paths = GuestPaths.of(settings.stateDir(), "dead");
        s.write(paths.state());
        Files.writeString(paths.pid(), pid + "\n");
        Files.writeString(paths.serial(), "servicefarm: guest ready (1 services)\n");
        p.destroyForcibly().waitFor();
        QemuLauncher.Recovery r = launcher.recover();
        assertEquals(List.of(), r.attached());
        assertEquals(List.of("dead"), r.gone().stream().map(GuestState::name).toList());
        for (Path f : List.of(paths.state(), paths.pid(), paths.serial())) {
            assertFalse(Files.exists(f), f + " removed");
        }
    }

    @Test
    void neverSignalsAProcessThatReusedThePid() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Process p = sleep();
        // Same pid, other start time: a recycled pid.
        GuestState recycled = new GuestState("recycled", GuestState.Role.CLONE, GuestState.Phase.RUNNING, p.pid(),
                ProcInfo.startTicks(p.pid()).orElseThrow() - 1, List.of("sleep", "120"), List.of(), null, 0);
        recycled.write(settings.stateDir().resolve("recycled.json"));
        // Same pid and start time, other argv: not a guest of ours.
        GuestState foreign = new GuestState("foreign", GuestState.Role.CLONE, GuestState.Phase.RUNNING, p.pid(),
                ProcInfo.startTicks(p.pid()).orElseThrow(), List.of("qemu-system-x86_64", "-name", "guest=foreign"),
                List.of(), null, 0);
        foreign.write(settings.stateDir().resolve("foreign.json"));
        QemuLauncher.Recovery r = launcher.recover();
        assertEquals(2, r.gone().size());
        assertEquals(0, r.attached().size());
        assertTrue(p.isAlive(), "the process that is not ours keeps running");
        // And a guest handle over a recycled pid does not kill it either.
        QemuGuest handle = new QemuGuest(launcher, recycled, GuestPaths.of(settings.stateDir(), "recycled"),
                closedQmp());
        assertFalse(handle.alive());
        handle.kill();
        handle.quit(Duration.ofMillis(200));
        assertTrue(p.isAlive());
    }

    @Test
    void adoptsALaunchThatTheJvmDidNotFinish() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Process p = sleep();
        GuestPaths paths = GuestPaths.of(settings.stateDir(), "half");
        // The JVM died after QEMU started but before it recorded the pid: only QEMU's pid file has it.
        stateOf("half", GuestState.Phase.LAUNCHING, 0, List.of("sleep", "120"))
                .write(paths.state());
        Files.writeString(paths.pid(), p.pid() + "\n");
        try (FakeQmpServer qmp = new FakeQmpServer(paths.qmp(), FakeQmpServer::ok)) {
            QemuLauncher.Recovery r = launcher.recover();
            assertEquals(1, r.attached().size(), r.toString());
            GuestState adopted = GuestState.read(paths.state());
            assertEquals(GuestState.Phase.RUNNING, adopted.phase());
            assertEquals(p.pid(), adopted.pid());
            r.attached().get(0).detach();
        }
    }

    @Test
    void aLiveProcessWhoseMonitorDoesNotAnswerIsReportedAndLeftAlone() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Process p = sleep();
        launcher.attachTimeout(Duration.ofMillis(300));
        GuestPaths paths = GuestPaths.of(settings.stateDir(), "mute");
        stateOf("mute", GuestState.Phase.RUNNING, p.pid(), List.of("sleep", "120")).write(paths.state());
        QemuLauncher.Recovery r = launcher.recover();
        assertEquals(0, r.attached().size());
        assertEquals(0, r.gone().size());
        assertEquals(1, r.problems().size());
        assertTrue(r.problems().get(0).contains("does not answer"), r.problems().toString());
        assertTrue(p.isAlive());
        assertTrue(Files.exists(paths.state()), "kept for the next try");
    }

    @Test
    void unreadableAndStrayFilesAreReportedNotFollowed() throws Exception {
        QemuLauncher launcher = new QemuLauncher(settings);
        Files.writeString(settings.stateDir().resolve("broken.json"), "{not json");
        Files.writeString(settings.stateDir().resolve("Not_A_Name.json"), "{}");
        stateOf("other", GuestState.Phase.RUNNING, 1, List.of("x")).write(settings.stateDir().resolve("renamed.json"));
        QemuLauncher.Recovery r = launcher.recover();
        assertEquals(0, r.attached().size());
        assertEquals(3, r.problems().size(), r.problems().toString());
        assertTrue(Files.exists(settings.stateDir().resolve("broken.json")));
    }

    @Test
    void aFailedStartReportsQemusMessageAndLeavesNoFiles() throws Exception {
        Path images = settings.imageRoots().get(0);
        Files.writeString(images.resolve("kernel"), "k");
        Files.writeString(images.resolve("initrd"), "i");
        Path fake = tmp.resolve("fake-qemu");
        Files.writeString(fake, "#!/bin/sh\necho \"qemu-system-x86_64: -netdev user: Could not set up host forwarding rule\" >&2\nexit 1\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        QemuLauncher launcher = new QemuLauncher(settings.withQemuBinary(fake));
        GuestSpec spec = new GuestSpec("nope", new Image(null, images.resolve("kernel"), images.resolve("initrd"), null, "quiet",
                128), 128, 1, GuestSpec.Ram.anonymous(), List.of(new GuestSpec.Forward(31000, 80)), false);
        IOException e = assertThrows(IOException.class, () -> launcher.launch(spec, GuestState.Role.GUEST, null));
        assertTrue(e.getMessage().contains("Could not set up host forwarding rule"), e.getMessage());
        try (var files = Files.list(settings.stateDir())) {
            assertEquals(List.of(), files.toList());
        }
    }

    private QmpClient closedQmp() throws Exception {
        Path sock = tmp.resolve("closed.sock");
        try (FakeQmpServer s = new FakeQmpServer(sock, FakeQmpServer::ok)) {
            QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(2), null);
            c.close();
            return c;
        }
    }
}
