package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Endpoint;

import com.sun.net.httpserver.HttpServer;

/** The core's readiness probe against real sockets on loopback. */
class EndpointProbeTest {

    private static final EndpointProbe.Timing QUICK =
            new EndpointProbe.Timing(Duration.ofMillis(200), Duration.ofMillis(20), Duration.ofMillis(600));

    private final EndpointProbe probe = new EndpointProbe();
    private final List<AutoCloseable> servers = new java.util.ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        probe.close();
        for (AutoCloseable server : servers) {
            server.close();
        }
    }

    /** An HTTP server answering {@code status} to everything. */
    private Endpoint http(int status) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        servers.add(() -> server.stop(0));
        return new Endpoint("127.0.0.1", server.getAddress().getPort());
    }

    /** A port nothing listens on. */
    private static Endpoint closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new Endpoint("127.0.0.1", socket.getLocalPort());
        }
    }

    /** A listener whose connections are accepted by the kernel and never answered, as QEMU's user network does. */
    private Endpoint silent() throws IOException {
        ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(socket);
        return new Endpoint("127.0.0.1", socket.getLocalPort());
    }

    private static Throwable failure(CompletableFuture<Void> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(5, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void anyHttpStatusLineIsAnAnswer() throws Exception {
        probe.await(Map.of("web", http(200), "admin", http(404), "broken", http(500)), QUICK).get(5, TimeUnit.SECONDS);
    }

    /**
     * A real guest's nginx answers 502 while its PHP-FPM is still starting: a client would get no page, so the VM is
     * not ready. Once the backend answers, the same endpoint counts.
     */
    @Test
    void aGatewayOrUnavailableAnswerIsNotReadyYet() throws Exception {
        for (int status : new int[] {502, 503, 504}) {
            Throwable failure = failure(probe.await(Map.of("wiki", http(status)), QUICK));
            assertTrue(failure.getMessage().contains("answered " + status + ": what serves behind it is not ready"),
                    failure.getMessage());
        }
        java.util.concurrent.atomic.AtomicInteger tries = new java.util.concurrent.atomic.AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(tries.incrementAndGet() < 3 ? 502 : 200, -1);
            exchange.close();
        });
        server.start();
        servers.add(() -> server.stop(0));
        probe.await(Map.of("wiki", new Endpoint("127.0.0.1", server.getAddress().getPort())),
                new EndpointProbe.Timing(Duration.ofMillis(500), Duration.ofMillis(20), Duration.ofSeconds(5)))
                .get(5, TimeUnit.SECONDS);
        assertTrue(tries.get() >= 3, "answered after two 502s: " + tries.get());
    }

    /**
     * QEMU's user-mode network accepts a connection to a booting guest and holds it unanswered: a try that hangs so
     * does not hold back the next one, which starts an interval later and is answered once the guest listens.
     */
    @Test
    void aTryHeldWithoutAnAnswerDoesNotHoldBackTheNext() throws Exception {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(server);
        List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread guest = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    if (held.isEmpty()) {
                        held.add(client); // the first connection: accepted, never answered (as QEMU holds it)
                        continue;
                    }
                    try (client; OutputStream out = client.getOutputStream()) {
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (IOException e) {
                    return;
                }
            }
        });
        guest.setDaemon(true);
        guest.start();
        long began = System.nanoTime();
        probe.await(Map.of("wiki", new Endpoint("127.0.0.1", server.getLocalPort())),
                new EndpointProbe.Timing(Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofSeconds(20)))
                .get(10, TimeUnit.SECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - began);
        assertEquals(1, held.size(), "the first try was held");
        assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "answered by a later try, not after the held one's "
                + "5 s timeout: " + took);
        for (Socket socket : held) {
            socket.close();
        }
    }

    @Test
    void anEndpointThatComesUpLaterIsWaitedFor() throws Exception {
        Endpoint later = closedPort();
        CompletableFuture<Void> ready = probe.await(Map.of("web", later),
                new EndpointProbe.Timing(Duration.ofMillis(200), Duration.ofMillis(20), Duration.ofSeconds(5)));
        Thread.sleep(300);
        assertTrue(!ready.isDone(), "nothing listens yet");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), later.port()), 8);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        servers.add(() -> server.stop(0));
        ready.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aClosedPortFailsAfterTheLimitNamingTheServiceAndWhatItMet() throws Exception {
        Endpoint nobody = closedPort();
        Throwable failure = failure(probe.await(Map.of("wiki", nobody), QUICK));
        assertInstanceOf(EndpointProbe.NoAnswerException.class, failure);
        assertTrue(failure.getMessage().startsWith("service wiki at " + nobody + " did not answer HTTP within 600 ms"),
                failure.getMessage());
        assertTrue(failure.getMessage().contains("refused"), failure.getMessage());
    }

    @Test
    void aConnectionThatIsAcceptedButNeverAnsweredTimesOut() throws Exception {
        Throwable failure = failure(probe.await(Map.of("wiki", silent()), QUICK));
        assertTrue(failure.getMessage().contains("last: no answer within 200 ms"), failure.getMessage());
    }

    @Test
    void somethingThatIsNotHttpIsNoAnswer() throws Exception {
        ServerSocket ssh = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(ssh);
        Thread banner = new Thread(() -> {
            while (!ssh.isClosed()) {
                try (Socket client = ssh.accept(); OutputStream out = client.getOutputStream()) {
                    out.write("SSH-2.0-OpenSSH_9.2\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    return;
                }
            }
        });
        banner.setDaemon(true);
        banner.start();
        Throwable failure = failure(probe.await(Map.of("ssh", new Endpoint("127.0.0.1", ssh.getLocalPort())), QUICK));
        assertTrue(failure.getMessage().contains("not with an HTTP status line"), failure.getMessage());
    }

    @Test
    void oneEndpointThatNeverAnswersFailsTheWholeVm() throws Exception {
        Throwable failure = failure(probe.await(Map.of("web", http(200), "admin", closedPort()), QUICK));
        assertTrue(failure.getMessage().startsWith("service admin"), failure.getMessage());
    }

    @Test
    void closingFailsWhatIsStillWaiting() throws Exception {
        CompletableFuture<Void> waiting = probe.await(Map.of("wiki", closedPort()),
                new EndpointProbe.Timing(Duration.ofMillis(200), Duration.ofMillis(20), Duration.ofMinutes(1)));
        probe.close();
        assertTrue(failure(waiting).getMessage().contains("stopped"));
    }
}
