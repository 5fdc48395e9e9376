package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QmpClientTest {

    private static final Duration SHORT = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    @Test
    void negotiatesCapabilitiesAndRunsCommands() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> {
            if (cmd.get("execute").equals("query-status")) {
                return List.of(FakeQmpServer.reply(cmd, "{\"status\": \"running\", \"running\": true}"));
            }
            return FakeQmpServer.ok(cmd);
        }); QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            assertEquals("qmp_capabilities", server.received().get(0).get("execute"));
            assertTrue(qmp.greeting().containsKey("QMP"));
            Map<String, Object> status = qmp.executeObject("query-status", null, SHORT);
            assertEquals("running", status.get("status"));
            assertEquals(Map.of(), qmp.execute("stop", null));
            // Every command carries its own id, arguments as given.
            qmp.execute("migrate", Map.of("uri", "exec:cat > /x"));
            Map<String, Object> migrate = server.received().get(3);
            assertEquals(Map.of("uri", "exec:cat > /x"), migrate.get("arguments"));
            assertTrue(server.received().stream().map(m -> m.get("id")).distinct().count() == server.received().size());
        }
    }

    @Test
    void repliesFindTheirCommandsWhenTheyComeOutOfOrder() throws Exception {
        BlockingQueue<Map<String, Object>> held = new LinkedBlockingQueue<>();
        AtomicReference<FakeQmpServer> ref = new AtomicReference<>();
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> {
            if (cmd.get("execute").equals("qmp_capabilities")) {
                return FakeQmpServer.ok(cmd);
            }
            held.add(cmd);
            if (held.size() < 2) {
                return List.of();
            }
            // Answer the second first, then the first.
            List<Map<String, Object>> both = new ArrayList<>();
            held.drainTo(both);
            return List.of(FakeQmpServer.reply(both.get(1), "\"second\""), FakeQmpServer.reply(both.get(0), "\"first\""));
        }); QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            ref.set(server);
            CompletableFuture<Object> a = qmp.submit("human-monitor-command", Map.of("command-line", "info status"));
            // The server answers only once both have come.
            Thread.sleep(50);
            CompletableFuture<Object> b = qmp.submit("human-monitor-command", Map.of("command-line", "info name"));
            assertEquals("first", a.get(2, TimeUnit.SECONDS));
            assertEquals("second", b.get(2, TimeUnit.SECONDS));
        }
    }

    @Test
    void anErrorReplyBecomesAnExceptionWithQemusClass() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> cmd.get("execute").equals("qmp_capabilities")
                ? FakeQmpServer.ok(cmd)
                : List.of(FakeQmpServer.error(cmd, "GenericError", "Can't migrate the vm that was paused due to previous migration")));
                QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            QmpException e = assertThrows(QmpException.class, () -> qmp.execute("migrate", Map.of("uri", "exec:cat > /x")));
            assertEquals(QmpException.Kind.ERROR, e.kind());
            assertEquals("GenericError", e.errorClass());
            assertEquals("migrate", e.command());
            assertTrue(e.getMessage().contains("previous migration"), e.getMessage());
            assertTrue(qmp.isOpen(), "an error reply leaves the connection usable");
        }
    }

    @Test
    void eventsReachListenersAndWatchesEvenBeforeTheReply() throws Exception {
        BlockingQueue<QmpEvent> events = new LinkedBlockingQueue<>();
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> {
            if (cmd.get("execute").equals("stop")) {
                // QEMU sends STOP before the reply to stop.
                return List.of(FakeQmpServer.event("STOP", null), FakeQmpServer.ok(cmd).get(0));
            }
            if (cmd.get("execute").equals("migrate-incoming")) {
                return List.of(FakeQmpServer.ok(cmd).get(0), FakeQmpServer.event("MIGRATION", "{\"status\": \"setup\"}"),
                        FakeQmpServer.event("MIGRATION", "{\"status\": \"active\"}"),
                        FakeQmpServer.event("MIGRATION", "{\"status\": \"completed\"}"));
            }
            return FakeQmpServer.ok(cmd);
        }); QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, events::add)) {
            try (QmpClient.EventWatch stopped = qmp.watch(e -> e.name().equals("STOP"))) {
                qmp.execute("stop", null);
                assertEquals("STOP", stopped.await(SHORT).name());
            }
            QmpClient.EventWatch done = qmp.watch(e -> "MIGRATION".equals(e.name()) && "completed".equals(e.status()));
            qmp.execute("migrate-incoming", Map.of("uri", "exec:cat /x"));
            QmpEvent completed = done.await(SHORT);
            assertEquals("completed", completed.status());
            assertEquals(1795650000L * 1_000_000 + 123456, completed.timestampMicros());
            List<String> seen = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                QmpEvent e = events.poll(2, TimeUnit.SECONDS);
                seen.add(e.name() + (e.status() == null ? "" : ":" + e.status()));
            }
            assertEquals(List.of("STOP", "MIGRATION:setup", "MIGRATION:active", "MIGRATION:completed"), seen);
            // Unsolicited events (a guest powering off) arrive too.
            server.send(FakeQmpServer.event("SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}"));
            QmpEvent shutdown = events.poll(2, TimeUnit.SECONDS);
            assertEquals("SHUTDOWN", shutdown.name());
            assertEquals("guest-shutdown", shutdown.data().get("reason"));
        }
    }

    @Test
    void aListenerThatThrowsDoesNotStopTheReader() throws Exception {
        CountDownLatch second = new CountDownLatch(1);
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), FakeQmpServer::ok);
                QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, e -> {
                    if (e.name().equals("RESUME")) {
                        second.countDown();
                    }
                    throw new IllegalStateException("listener bug");
                })) {
            server.send(FakeQmpServer.event("STOP", null));
            server.send(FakeQmpServer.event("RESUME", null));
            assertTrue(second.await(2, TimeUnit.SECONDS));
            assertEquals(Map.of(), qmp.execute("cont", null, SHORT));
        }
    }

    @Test
    void aCommandWithoutReplyTimesOutAndTheConnectionStaysUsable() throws Exception {
        AtomicReference<Map<String, Object>> slow = new AtomicReference<>();
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> {
            if (cmd.get("execute").equals("query-migrate") && slow.get() == null) {
                slow.set(cmd);
                return List.of();
            }
            return FakeQmpServer.ok(cmd);
        }); QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            long t0 = System.nanoTime();
            QmpException e = assertThrows(QmpException.class, () -> qmp.execute("query-migrate", null, Duration.ofMillis(200)));
            assertEquals(QmpException.Kind.TIMEOUT, e.kind());
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(2).toNanos());
            // The late reply is dropped; the next command gets its own.
            server.send(FakeQmpServer.reply(slow.get(), "{\"status\": \"late\"}"));
            assertEquals(Map.of(), qmp.execute("query-migrate", null, SHORT));
            assertTrue(qmp.isOpen());
        }
    }

    @Test
    void aQemuThatDiesFailsWaitingCommandsAtOnce() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> cmd.get("execute").equals("qmp_capabilities")
                ? FakeQmpServer.ok(cmd) : List.of());
                QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            CompletableFuture<Object> waiting = qmp.submit("query-migrate", null);
            QmpClient.EventWatch watch = qmp.watch(e -> true);
            server.dropClient();
            String reason = qmp.closed().get(2, TimeUnit.SECONDS);
            assertTrue(reason.contains("quit or died"), reason);
            assertFalse(qmp.isOpen());
            Exception e = assertThrows(Exception.class, () -> waiting.get(2, TimeUnit.SECONDS));
            assertEquals(QmpException.Kind.CLOSED, ((QmpException) e.getCause()).kind());
            assertEquals(QmpException.Kind.CLOSED, assertThrows(QmpException.class, () -> watch.await(SHORT)).kind());
            long t0 = System.nanoTime();
            QmpException later = assertThrows(QmpException.class, () -> qmp.execute("cont", null, Duration.ofSeconds(10)));
            assertEquals(QmpException.Kind.CLOSED, later.kind());
            assertTrue(System.nanoTime() - t0 < Duration.ofMillis(500).toNanos(), "fails fast, no timeout");
        }
    }

    @Test
    void garbageFromThePeerClosesTheConnection() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), FakeQmpServer::ok);
                QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null)) {
            server.send("this is not json");
            String reason = qmp.closed().get(2, TimeUnit.SECONDS);
            assertTrue(reason.contains("protocol"), reason);
            assertFalse(qmp.isOpen());
        }
    }

    @Test
    void aMonitorBusyWithAnotherClientTimesOutAtConnect() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), FakeQmpServer::ok)) {
            server.greet(false);
            QmpException e = assertThrows(QmpException.class,
                    () -> QmpClient.connect(dir.resolve("q.sock"), Duration.ofMillis(300), null));
            assertEquals(QmpException.Kind.TIMEOUT, e.kind());
            assertTrue(e.getMessage().contains("greeting"), e.getMessage());
        }
    }

    @Test
    void connectWaitsForASocketThatAppearsLate() throws Exception {
        Path socket = dir.resolve("late.sock");
        CompletableFuture<FakeQmpServer> later = CompletableFuture.supplyAsync(() -> {
            try {
                Thread.sleep(200);
                return new FakeQmpServer(socket, FakeQmpServer::ok);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(3), null)) {
            assertTrue(qmp.isOpen());
        } finally {
            later.get().close();
        }
        QmpException none = assertThrows(QmpException.class,
                () -> QmpClient.connect(dir.resolve("never.sock"), Duration.ofMillis(100), null));
        assertEquals(QmpException.Kind.CLOSED, none.kind());
    }

    @Test
    void closeFailsWaitingCommandsAndIsIdempotent() throws Exception {
        try (FakeQmpServer server = new FakeQmpServer(dir.resolve("q.sock"), cmd -> cmd.get("execute").equals("qmp_capabilities")
                ? FakeQmpServer.ok(cmd) : List.of())) {
            QmpClient qmp = QmpClient.connect(dir.resolve("q.sock"), SHORT, null);
            CompletableFuture<Object> waiting = qmp.submit("query-status", null);
            qmp.close();
            qmp.close();
            assertFalse(qmp.isOpen());
            assertEquals("closed by the client", qmp.closed().get(1, TimeUnit.SECONDS));
            Exception e = assertThrows(Exception.class, () -> waiting.get(1, TimeUnit.SECONDS));
            assertEquals(QmpException.Kind.CLOSED, ((QmpException) e.getCause()).kind());
        }
    }
}
