package org.servicefarm.driver.xapi.simulator;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import org.servicefarm.driver.xapi.simulator.Pool.Obj;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An XAPI pool on loopback, for tests: XAPI's JSON-RPC ({@code POST /jsonrpc}) and raw VDI upload
 * ({@code PUT /import_raw_vdi}) on 127.0.0.1, the subset the {@code xapi} driver uses, with XAPI's errors and power
 * rules; guests that get an address and answer HTTP on their service ports while they run. The methods here are
 * the tests' side: what a test sets up, reads or does to the pool behind the driver's back.
 */
public final class XapiSimulator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(XapiSimulator.class);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    static {
        // The JDK's server writes a response's headers and body apart: without TCP_NODELAY each answer waits for the
        // client's delayed ACK (40 ms). Read once, by the first HttpServer of the JVM.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final ObjectMapper json = new ObjectMapper();
    private final SimulatedGuestServices guests = new SimulatedGuestServices();
    private final ScheduledExecutorService agent = Executors.newSingleThreadScheduledExecutor(named("xapi-simulator-agent"));
    private final XapiCalls xapi;
    private int port;
    private HttpServer http;
    private ExecutorService handlers;

    /** The server's side of TLS, or {@code null} for plain HTTP. */
    private final SSLContext tls;
    private Path certificate;

    private XapiSimulator(Path dataDir, SSLContext tls, String username, String password, List<String> hostNames) {
        this.tls = tls;
        xapi = new XapiCalls(dataDir, username, password, hostNames, guests, agent);
    }

    /**
     * A pool of {@code hostNames} (the first the master; "host0" if none), answering on an ephemeral port of
     * 127.0.0.1. VDIs are files in {@code dataDir}.
     */
    public static XapiSimulator start(Path dataDir, String username, String password, String... hostNames) {
        return start(dataDir, null, username, password, hostNames);
    }

    /**
     * As {@link #start(Path, String, String, String...)}, over HTTPS with a self-signed certificate of its own, made
     * now in {@code dataDir} ({@link #certificate()}), as XenServer and XCP-ng make theirs.
     */
    public static XapiSimulator startTls(Path dataDir, String username, String password, String... hostNames) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        XapiSimulator simulator = start(dataDir, SelfSignedCertificate.make(dataDir), username, password, hostNames);
        simulator.certificate = SelfSignedCertificate.pem(dataDir);
        return simulator;
    }

    /** The PEM file of its certificate, for a client to trust; {@code null} over plain HTTP. */
    public Path certificate() {
        return certificate;
    }

    private static XapiSimulator start(Path dataDir, SSLContext tls, String username, String password,
                                       String... hostNames) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        XapiSimulator simulator = new XapiSimulator(dataDir, tls, username, password,
                hostNames.length == 0 ? List.of("host0") : List.of(hostNames));
        try {
            simulator.restart();
        } catch (RuntimeException e) {
            simulator.close();
            throw e;
        }
        return simulator;
    }

    /** {@code http://127.0.0.1:<port>} ({@code https} with TLS), the same across {@link #stop()} and {@link #restart()}. */
    public synchronized String url() {
        return (tls == null ? "http" : "https") + "://" + LOOPBACK.getHostAddress() + ":" + port;
    }

    /** How long a guest takes from start to its agent's first report (address) and its services. */
    public void setBootDelay(Duration delay) {
        xapi.bootDelay = delay;
    }

    /** How long an {@code Async.} call's task stays pending before it ends (default 20 ms). */
    public void setTaskDelay(Duration delay) {
        xapi.taskDelay = delay;
    }

    /** The file holding the bytes of VDI {@code vdiUuid}. */
    public Path vdiFile(String vdiUuid) {
        return xapi.vdiFile(vdiUuid);
    }

    /** Adds a VDI of {@code bytes}, written full, to the pool's storage with {@code otherConfig}; its uuid. */
    public String addVdi(String nameLabel, Map<String, String> otherConfig, long bytes) {
        return xapi.addVdi(nameLabel, otherConfig, bytes);
    }

    /** The uuids of the VDIs in the pool's storage. */
    public java.util.Set<String> vdiUuids() {
        return xapi.vdiUuids();
    }

    /** The records (copies) of the VDIs in the pool's storage. */
    public List<Map<String, Object>> vdis() {
        return xapi.vdis();
    }

    /** The pool's storage record (a copy): {@code physical_size}, {@code physical_utilisation}. */
    public Map<String, Object> storage() {
        return xapi.storage();
    }

    /** Gives the pool's storage another physical size, as a smaller or fuller disk would. */
    public void resizeStorage(long bytes) {
        xapi.resizeStorage(bytes);
    }

    /** The records (copies) of every VM that is neither a template nor a control domain. */
    public List<Map<String, Object>> vms() {
        return xapi.pool.locked(() -> guestVms().stream().map(vm -> XapiCalls.copy(vm.rec)).toList());
    }

    public Optional<Map<String, Object>> vm(String nameLabel) {
        return vms().stream().filter(vm -> nameLabel.equals(vm.get("name_label"))).findFirst();
    }

    /** The name of the pool member VM {@code nameLabel} runs on, if it runs (or is paused) on one. */
    public Optional<String> residentOn(String nameLabel) {
        return xapi.pool.locked(() -> vm(nameLabel).map(vm -> xapi.pool.getOrNull("host", (String) vm.get("resident_on")))
                .map(host -> host.str("name_label")));
    }

    /** As if the guest {@code nameLabel} shut down or crashed: Halted (an event), its services gone. */
    public void powerOff(String nameLabel) {
        xapi.pool.locked(() -> xapi.powerOff(guestVms().stream().filter(vm -> vm.str("name_label").equals(nameLabel))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no VM " + nameLabel))));
    }

    /** Every session becomes invalid, as after a restart of xapi; an event.from blocked on one answers so. */
    public void invalidateSessions() {
        xapi.pool.locked(xapi.pool::invalidateSessions);
    }

    /** How many times {@code method} was called, answered or refused. */
    public int calls(String method) {
        return xapi.calls(method);
    }

    /** The endpoint goes away (connections refused, those open closed); the pool and its guests stay. */
    public synchronized void stop() {
        if (http == null) {
            return;
        }
        http.stop(0);
        xapi.pool.locked(xapi.pool::wakeWaiters);
        handlers.shutdown();
        try {
            handlers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http = null;
    }

    /** The endpoint comes back on the same port, with the same state. */
    public synchronized void restart() {
        if (http != null) {
            return;
        }
        try {
            InetSocketAddress address = new InetSocketAddress(LOOPBACK, port);
            if (tls == null) {
                http = HttpServer.create(address, 64);
            } else {
                HttpsServer https = HttpsServer.create(address, 64);
                https.setHttpsConfigurator(new HttpsConfigurator(tls));
                http = https;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on port " + port, e);
        }
        port = http.getAddress().getPort();
        // threads as needed: each blocked event.from holds one
        handlers = Executors.newCachedThreadPool(named("xapi-simulator-http"));
        http.setExecutor(handlers);
        http.createContext("/jsonrpc", this::jsonRpc);
        http.createContext("/import_raw_vdi", this::importRawVdi);
        http.start();
    }

    @Override
    public void close() {
        stop();
        agent.shutdownNow();
        try {
            agent.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        guests.close();
    }

    private List<Obj> guestVms() {
        return xapi.pool.locked(() -> xapi.pool.all("VM").stream().filter(vm -> !Boolean.TRUE.equals(
                vm.rec.get("is_a_template")) && !Boolean.TRUE.equals(vm.rec.get("is_control_domain"))).toList());
    }

    private void jsonRpc(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("POST")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            JsonNode request;
            try {
                request = json.readTree(exchange.getRequestBody());
            } catch (JsonProcessingException e) {
                request = null;
            }
            if (request == null || !request.path("method").isTextual()) {
                exchange.sendResponseHeaders(400, -1);
                return;
            }
            List<JsonNode> params = new ArrayList<>();
            request.path("params").forEach(params::add);
            ObjectNode answer = json.createObjectNode().put("jsonrpc", "2.0");
            try {
                answer.set("result", xapi.call(request.get("method").asText(), params));
            } catch (XapiException e) {
                ObjectNode error = answer.putObject("error").put("code", 1).put("message", e.getMessage());
                e.params.forEach(error.putArray("data")::add);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOG.warn("the XAPI simulator failed on {}", request, e);
                answer.putObject("error").put("code", 1).put("message", "INTERNAL_ERROR")
                        .putArray("data").add(e.toString());
            }
            answer.set("id", request.get("id"));
            byte[] body = json.writeValueAsBytes(answer);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        }
    }

    private void importRawVdi(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("PUT")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            Map<String, String> query = new HashMap<>();
            String raw = exchange.getRequestURI().getRawQuery();
            for (String pair : raw == null ? new String[0] : raw.split("&")) {
                String[] kv = pair.split("=", 2);
                query.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
                        kv.length < 2 ? "" : URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
            }
            int status = xapi.importRaw(query.get("session_id"), query.get("vdi"), query.getOrDefault("format", "raw"),
                    exchange.getRequestBody());
            // the rest of a refused body read: the client sees the status, not a connection closed under it
            exchange.getRequestBody().transferTo(OutputStream.nullOutputStream());
            exchange.sendResponseHeaders(status, -1);
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread thread = new Thread(task, prefix + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
