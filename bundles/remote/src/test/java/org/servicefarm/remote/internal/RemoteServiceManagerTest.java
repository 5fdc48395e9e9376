package org.servicefarm.remote.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.annotation.Annotation;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.NotSupportedException;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmState;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The remote manager against a real HTTP server in this JVM that answers as the manager's REST API does (its paths,
 * status codes, headers and JSON), checking the login of every call.
 */
class RemoteServiceManagerTest {

    static final String PASSWORD = "s3cret-Pa55";
    static final ObjectMapper JSON = new ObjectMapper();
    static final String OFFERING = "{\"service\":\"wiki\",\"version\":\"2.1\",\"environment\":{\"os\":\"debian-12\","
            + "\"server\":\"nginx-1.22\",\"runtime\":\"php-8.2\",\"patches\":[]},\"securityLevel\":\"standard\"}";

    /** What the manager answers, by "METHOD path"; each answer is status, headers, body. */
    record Answer(int status, Map<String, String> headers, String body) {
    }

    final Map<String, Answer> answers = new ConcurrentHashMap<>();
    final Map<String, JsonNode> received = new ConcurrentHashMap<>();
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    final HttpServer manager;

    RemoteServiceManagerTest() throws IOException {
        manager = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        manager.createContext("/", this::answer);
        manager.start();
    }

    @AfterEach
    void stop() {
        manager.stop(0);
    }

    private void answer(HttpExchange exchange) throws IOException {
        calls.incrementAndGet();
        String key = exchange.getRequestMethod() + " " + exchange.getRequestURI();
        byte[] in = exchange.getRequestBody().readAllBytes();
        if (in.length > 0) {
            received.put(key, JSON.readTree(in));
        }
        String expected = "Basic " + Base64.getEncoder().encodeToString(("operator:" + PASSWORD)
                .getBytes(StandardCharsets.UTF_8));
        Answer answer = expected.equals(exchange.getRequestHeaders().getFirst("Authorization"))
                ? answers.getOrDefault(key, new Answer(404, Map.of(), "{\"detail\":\"no such path\"}"))
                : new Answer(401, Map.of("WWW-Authenticate", "Basic realm=\"servicefarm\""),
                "{\"type\":\"urn:servicefarm:problem:unauthorized\",\"status\":401,"
                        + "\"detail\":\"wrong user name or password\"}");
        byte[] out = answer.body().getBytes(StandardCharsets.UTF_8);
        answer.headers().forEach(exchange.getResponseHeaders()::add);
        exchange.getResponseHeaders().add("Content-Type", answer.status() >= 400 ? "application/problem+json"
                : "application/json");
        exchange.sendResponseHeaders(answer.status(), out.length);
        exchange.getResponseBody().write(out);
        exchange.close();
    }

    static RemoteConfig config(String url, String password) {
        return new RemoteConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return RemoteConfig.class;
            }

            @Override
            public String url() {
                return url;
            }

            @Override
            public String user() {
                return "operator";
            }

            @Override
            public String _password() {
                return password;
            }

            @Override
            public int timeoutSeconds() {
                return 5;
            }

            @Override
            public int unreachableRetrySeconds() {
                return 7;
            }
        };
    }

    RemoteServiceManager remote(String password) {
        return new RemoteServiceManager(config("http://127.0.0.1:" + manager.getAddress().getPort() + "/", password));
    }

    static final ServiceRequest WIKI_ON_DEBIAN = new ServiceRequest("wiki", null,
            new Environment("debian-12", null, null, List.of()), null, "gold", Duration.ofMillis(1500));

    @Test
    void aGrantIsForwardedWithTheRequestAsTheApiBodyAndAnsweredAsTheManagerSaid() {
        answers.put("POST /api/v1/requests", new Answer(200, Map.of(), "{\"outcome\":\"GRANTED\",\"endpoint\":"
                + "{\"host\":\"10.0.0.7\",\"port\":22000},\"vmId\":\"sf-0123456789ab\",\"hostId\":\"gamma\","
                + "\"activation\":\"CREATED\",\"offering\":" + OFFERING + ",\"filledIn\":[\"version\",\"server\"],"
                + "\"elapsedMs\":40}"));

        Outcome outcome = remote(PASSWORD).requestAsync(WIKI_ON_DEBIAN).toCompletableFuture().join();

        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, outcome);
        assertEquals("10.0.0.7", granted.endpoint().host());
        assertEquals(22000, granted.endpoint().port());
        assertEquals("sf-0123456789ab", granted.vmId());
        assertEquals("gamma", granted.hostId());
        assertEquals(Activation.CREATED, granted.activation());
        assertEquals("nginx-1.22", granted.offering().environment().server());
        assertEquals(List.of("version", "server"), granted.filledIn());
        assertEquals("{\"service\":\"wiki\",\"environment\":{\"os\":\"debian-12\"},\"tier\":\"gold\","
                + "\"deadlineMs\":1500}", received.get("POST /api/v1/requests").toString());
    }

    @Test
    void retryLaterKeepsTheManagersRetryAfterAndNeverItsReason() {
        RemoteServiceManager remote = remote(PASSWORD);
        answers.put("POST /api/v1/requests", new Answer(503, Map.of("Retry-After", "4"), "{\"outcome\":"
                + "\"RETRY_LATER\",\"retryAfterSeconds\":4,\"detail\":\"creating a VM\",\"offering\":" + OFFERING
                + ",\"filledIn\":[],\"elapsedMs\":1500,\"retryTicket\":\"Tkt-0123456789abcdef_xy\"}"));
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, remote.request(WIKI_ON_DEBIAN));
        assertEquals(4, later.retryAfterSeconds());
        assertEquals("creating a VM", later.detail());
        assertEquals("wiki", later.offering().service());
        assertEquals("Tkt-0123456789abcdef_xy", later.retryTicket());
        remote.request(WIKI_ON_DEBIAN.withRetryTicket(later.retryTicket()));
        assertEquals("Tkt-0123456789abcdef_xy", received.get("POST /api/v1/requests").path("retryTicket").asText(),
                "the retry sends the manager's ticket back");

        answers.put("POST /api/v1/requests", new Answer(404, Map.of(), "{\"type\":\"urn:servicefarm:problem:never\","
                + "\"status\":404,\"detail\":\"breaks rule wiki-php\",\"outcome\":\"NEVER\"}"));
        assertEquals("breaks rule wiki-php",
                assertInstanceOf(Outcome.Never.class, remote.request(WIKI_ON_DEBIAN)).reason());

        answers.put("POST /api/v1/requests", new Answer(400, Map.of(), "{\"status\":400,\"detail\":\"unknown tier "
                + "'gold'\",\"field\":\"tier\"}"));
        InvalidRequestException malformed = assertThrows(InvalidRequestException.class,
                () -> remote.request(WIKI_ON_DEBIAN));
        assertEquals("tier", malformed.field());
    }

    @Test
    void aRefusedLoginOrAnUnreachableManagerIsRetryLaterAndThePasswordIsNeverLogged() throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        Outcome.RetryLater refused;
        Outcome.RetryLater unreachable;
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String wrong = "wrong-" + PASSWORD;
        try {
            RemoteServiceManager wrongLogin = remote(wrong);
            refused = assertInstanceOf(Outcome.RetryLater.class, wrongLogin.request(WIKI_ON_DEBIAN));
            wrongLogin.request(WIKI_ON_DEBIAN);
            unreachable = assertInstanceOf(Outcome.RetryLater.class,
                    new RemoteServiceManager(config("http://127.0.0.1:" + closedPort, PASSWORD))
                            .request(WIKI_ON_DEBIAN));
        } finally {
            System.setErr(err);
        }
        assertEquals(7, refused.retryAfterSeconds());
        assertEquals("the manager answered HTTP 401", refused.detail());
        assertTrue(unreachable.detail().startsWith("the manager cannot be reached"), unreachable.detail());
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("(user operator) answered HTTP 401: wrong user name or password"), text);
        assertEquals(1, text.split("answered HTTP 401", -1).length - 1, "a wrong login is logged once: " + text);
        assertTrue(text.contains("cannot be reached"), text);
        assertFalse(text.contains(PASSWORD), "the password is never logged: " + text);
        String header = Base64.getEncoder().encodeToString(("operator:" + wrong).getBytes(StandardCharsets.UTF_8));
        assertFalse(text.contains(header), "nor the Authorization header: " + text);
    }

    @Test
    void theDirectoryAndTheStateTableAreTheManagers() {
        RemoteServiceManager remote = remote(PASSWORD);
        answers.put("POST /api/v1/requests?explain=true", new Answer(200, Map.of(), "{\"outcome\":\"EXPLAINED\","
                + "\"offering\":" + OFFERING + ",\"filledIn\":[\"server\"],\"action\":\"create a VM\"}"));
        answers.put("GET /api/v1/catalog/offerings?limit=1000", new Answer(200, Map.of(), "{\"offerings\":["
                + OFFERING + "]}"));
        answers.put("GET /api/v1/vms/sf-0123456789ab", new Answer(200, Map.of(), "{\"id\":\"sf-0123456789ab\","
                + "\"state\":\"SLEEPING\",\"host\":\"gamma\",\"image\":\"img\",\"offering\":" + OFFERING + ","
                + "\"endpoint\":{\"host\":\"10.0.0.7\",\"port\":22000},\"endpoints\":{\"wiki\":{\"host\":\"10.0.0.7\","
                + "\"port\":22000}},\"resources\":{\"vcpus\":1,\"memoryMiB\":256,\"vms\":1},"
                + "\"createdAt\":\"2026-11-26T04:00:00Z\",\"lastUsedAt\":null,\"grants\":3,\"detail\":null}"));

        Resolution.Viable viable = assertInstanceOf(Resolution.Viable.class,
                remote.directory().resolve(WIKI_ON_DEBIAN));
        assertEquals("php-8.2", viable.offering().environment().runtime());
        assertEquals(List.of("server"), viable.filledIn());
        assertEquals(1, remote.directory().offerings(50_000).size(), "asked within the API's limit");

        var vm = remote.stateTable().vm("sf-0123456789ab").orElseThrow();
        assertEquals(VmState.SLEEPING, vm.state());
        assertEquals(22000, vm.endpoint().port());
        assertNull(vm.lastUsedAt());
        assertTrue(remote.stateTable().vm("sf-ffffffffffff").isEmpty(), "404: no such VM");
        assertTrue(remote.hosts().isEmpty());
    }

    @Test
    void whatOnlyTheManagerDoesIsRefusedNamingTheManager() {
        RemoteServiceManager remote = remote(PASSWORD);
        List<org.junit.jupiter.api.function.Executable> managersOnly = List.of(() -> remote.unregisterHost("alpha"),
                () -> remote.drain("alpha", true), () -> remote.explain(WIKI_ON_DEBIAN),
                () -> remote.sleep("sf-0123456789ab"), () -> remote.archive("sf-0123456789ab", null),
                () -> remote.wake("sf-0123456789ab"), () -> remote.wakeAsync("sf-0123456789ab"),
                () -> remote.destroy("sf-0123456789ab"), () -> remote.migrate("sf-0123456789ab", null));
        for (org.junit.jupiter.api.function.Executable call : managersOnly) {
            NotSupportedException refused = assertThrows(NotSupportedException.class, call);
            assertTrue(refused.getMessage().startsWith("a directory appliance does not ")
                    && refused.getMessage().endsWith(": ask the manager at http://127.0.0.1:"
                    + manager.getAddress().getPort()), refused.getMessage());
        }
        assertEquals(0, calls.get(), "nothing was sent to the manager");
    }

    @Test
    void theUrlIsHttpOrHttpsWithoutCredentials() {
        assertEquals("https://manager.example:8181", RemoteServiceManager.base("https://manager.example:8181/")
                .toString());
        for (String bad : List.of("ftp://manager", "https://operator:pw@manager:8181", "manager:8181", "",
                "http://manager/?x=1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RemoteServiceManager.base(bad), bad);
            assertFalse(e.getMessage().contains("pw@"), e.getMessage());
        }
    }
}
