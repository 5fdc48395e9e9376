package org.servicefarm.driver.xapi.simulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulator over real HTTP, as the driver talks to it. */
class XapiSimulatorTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicLong IDS = new AtomicLong();

    @TempDir
    Path dataDir;
    private XapiSimulator sim;
    private String session;

    @BeforeEach
    void start() throws Exception {
        sim = XapiSimulator.start(dataDir, "root", "secret", "xen1", "xen2");
        sim.setBootDelay(Duration.ofMillis(100));
        session = call("session.login_with_password", "root", "secret", "2.21", "test").asText();
    }

    @AfterEach
    void close() throws InterruptedException {
        if (sim != null) {
            sim.close();
        }
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().startsWith("xapi-sim")) {
                thread.join(1000);
                assertFalse(thread.isAlive(), thread.getName() + " left running");
            }
        }
    }

    @Test
    void loginAndErrors() throws Exception {
        assertTrue(session.startsWith("OpaqueRef:"));
        assertError(List.of("SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"),
                "session.login_with_password", "root", "wrong", "2.21", "test");
        JsonNode answer = rpc("VM.get_record", session, "OpaqueRef:nope");
        assertEquals("2.0", answer.get("jsonrpc").asText());
        assertEquals(1, answer.get("error").get("code").asInt());
        assertEquals(List.of("HANDLE_INVALID", "VM", "OpaqueRef:nope"), error(answer));
        assertError(List.of("MESSAGE_METHOD_UNKNOWN", "VM.levitate"), "VM.levitate", session);
        assertError(List.of("MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1"), "VM.start", session, "x");
        assertEquals(400, post("{not json").statusCode());
        assertEquals(2, call("host.get_all", session).size());
        JsonNode master = call("pool.get_master", session, call("pool.get_all", session).get(0).asText());
        JsonNode host = call("host.get_record", session, master.asText());
        assertEquals("xen1", host.get("name_label").asText());
        assertEquals("24.11", host.get("software_version").get("xapi").asText());
        call("session.logout", session);
        assertError(List.of("SESSION_INVALID", session), "VM.get_all", session);
    }

    @Test
    void guestLifecycle() throws Exception {
        sim.setBootDelay(Duration.ofMillis(400)); // long enough to see the guest booting
        String template = call("VM.get_by_name_label", session, "Other install media").get(0).asText();
        String vm = call("VM.clone", session, template, "web-1").asText();
        call("VM.set_is_a_template", session, vm, false);
        int port; // free on 127.0.0.1: most likely free on 127.77.0.2 too
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        call("VM.set_xenstore_data", session, vm, Map.of("vm-data/service-ports", String.valueOf(port)));
        String network = call("network.get_by_name_label", session, "Pool-wide network associated with eth0")
                .get(0).asText();
        call("VIF.create", session, Map.of("device", "0", "network", network, "VM", vm, "MAC", "", "MTU", 1500,
                "other_config", Map.of(), "locking_mode", "network_default"));

        call("VM.start", session, vm, false, false);
        assertEquals("Running", call("VM.get_power_state", session, vm).asText());
        assertEquals(1, sim.calls("VM.start"));
        assertEquals("Running", sim.vm("web-1").orElseThrow().get("power_state"));
        assertEquals("OpaqueRef:NULL", call("VM.get_guest_metrics", session, vm).asText(), "still booting");
        JsonNode networks = call("VM_guest_metrics.get_networks", session, awaitGuestMetrics(vm));
        assertEquals("127.77.0.2", networks.get("0/ip").asText());
        assertEquals("127.77.0.2", networks.get("0/ipv4/0").asText());
        URI guest = URI.create("http://127.77.0.2:" + port + "/");
        HttpResponse<String> page = get(guest);
        assertEquals(200, page.statusCode());
        assertEquals("xapi-simulated-guest", page.headers().firstValue("Server").orElseThrow());
        assertTrue(page.body().contains("web-1"), page.body());

        call("VM.pause", session, vm);
        assertThrows(ConnectException.class, () -> get(guest));
        assertError(List.of("VM_BAD_POWER_STATE", vm, "running", "paused"), "VM.suspend", session, vm);
        call("VM.unpause", session, vm);
        assertEquals(200, get(guest).statusCode());
        call("VM.suspend", session, vm);
        assertEquals("Suspended", call("VM.get_power_state", session, vm).asText());
        assertEquals(-1, call("VM.get_domid", session, vm).asInt());
        call("VM.resume", session, vm, false, false);
        assertEquals("Running", call("VM.get_power_state", session, vm).asText());
        call("VM.hard_shutdown", session, vm);
        assertEquals("Halted", call("VM.get_power_state", session, vm).asText());
        assertThrows(ConnectException.class, () -> get(guest));
        call("VM.destroy", session, vm);
        assertError(List.of("HANDLE_INVALID", "VM", vm), "VM.get_record", session, vm);
        assertTrue(sim.vms().isEmpty());
    }

    @Test
    void eventsFrom() throws Exception {
        JsonNode first = call("event.from", session, List.of("vm"), "", 5.0);
        // every VM as an "add": two control domains and the template
        assertEquals(3, first.get("events").size());
        assertTrue(first.get("events").findValuesAsText("operation").stream().allMatch("add"::equals));
        String template = call("VM.get_by_name_label", session, "Other install media").get(0).asText();
        String vm = call("VM.clone", session, template, "db-1").asText();
        call("VM.set_is_a_template", session, vm, false);
        String token = call("event.from", session, List.of("vm"), first.get("token").asText(), 5.0).get("token").asText();

        CompletableFuture<JsonNode> blocked = rpcAsync("event.from", session, List.of("vm"), token, 10.0);
        Thread.sleep(100);
        assertFalse(blocked.isDone(), "nothing happened yet");
        call("VM.start", session, vm, false, false);
        JsonNode events = blocked.get(5, TimeUnit.SECONDS).get("result").get("events");
        assertEquals(1, events.size());
        JsonNode event = events.get(0);
        assertEquals(List.of("vm", "mod", vm), List.of(event.get("class").asText(), event.get("operation").asText(),
                event.get("ref").asText()));
        assertEquals("Running", event.get("snapshot").get("power_state").asText());
        String after = blocked.get().get("result").get("token").asText();

        long started = System.nanoTime();
        JsonNode none = call("event.from", session, List.of("vdi"), after, 0.3);
        assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(300));
        assertEquals(0, none.get("events").size());
    }

    @Test
    void rawVdiUpload() throws Exception {
        String pool = call("pool.get_all", session).get(0).asText();
        String sr = call("pool.get_default_SR", session, pool).asText();
        assertEquals("Local storage", call("SR.get_record", session, sr).get("name_label").asText());
        String vdi = call("VDI.create", session, Map.of("name_label", "disk", "SR", sr,
                "virtual_size", 1 << 20, "type", "user", "sharable", false, "read_only", false,
                "other_config", Map.of(), "xenstore_data", Map.of(), "sm_config", Map.of(), "tags", List.of())).asText();
        String uuid = call("VDI.get_uuid", session, vdi).asText();
        byte[] content = new byte[100_000];
        Arrays.fill(content, (byte) 7);

        assertEquals(401, put("OpaqueRef:nope", vdi, BodyPublishers.ofByteArray(content)));
        assertEquals(404, put(session, "OpaqueRef:nope", BodyPublishers.ofByteArray(content)));
        assertEquals(400, put(session, vdi, BodyPublishers.ofByteArray(new byte[(1 << 20) + 1])));
        // chunked, as a stream of unknown length
        assertEquals(200, put(session, vdi, BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(content))));

        byte[] stored = Files.readAllBytes(sim.vdiFile(uuid));
        assertEquals(1 << 20, stored.length);
        assertArrayEquals(content, Arrays.copyOf(stored, content.length));
        assertTrue(Arrays.equals(new byte[stored.length - content.length],
                Arrays.copyOfRange(stored, content.length, stored.length)), "zero-filled");
        assertEquals(content.length, call("VDI.get_physical_utilisation", session, vdi).asLong());
        assertEquals(vdi, call("VDI.get_by_uuid", session, uuid).asText());
        assertError(List.of("UUID_INVALID", "VDI", "nope"), "VDI.get_by_uuid", session, "nope");
    }

    @Test
    void invalidatedSessions() throws Exception {
        CompletableFuture<JsonNode> blocked = rpcAsync("event.from", session, List.of("vm"),
                call("event.from", session, List.of("vm"), "", 5.0).get("token").asText(), 10.0);
        Thread.sleep(100);
        sim.invalidateSessions();
        assertEquals(List.of("SESSION_INVALID", session), error(blocked.get(5, TimeUnit.SECONDS)));
        assertError(List.of("SESSION_INVALID", session), "VM.get_all", session);

        sim.stop();
        assertThrows(IOException.class, () -> post("{}"));
        sim.restart();
        String again = call("session.login_with_password", "root", "secret", "2.21", "test").asText();
        assertEquals(3, call("VM.get_all", again).size(), "two control domains and the template: the state kept");
    }

    private String awaitGuestMetrics(String vm) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String metrics;
        while ((metrics = call("VM.get_guest_metrics", session, vm).asText()).equals("OpaqueRef:NULL")) {
            assertTrue(System.nanoTime() < deadline, "no guest metrics");
            Thread.sleep(20);
        }
        return metrics;
    }

    private static HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).build(), BodyHandlers.ofString());
    }

    private JsonNode call(String method, Object... params) throws Exception {
        JsonNode answer = rpc(method, params);
        assertFalse(answer.has("error"), () -> method + ": " + answer);
        return answer.get("result");
    }

    private void assertError(List<String> expected, String method, Object... params) throws Exception {
        assertEquals(expected, error(rpc(method, params)));
    }

    private static List<String> error(JsonNode answer) {
        List<String> error = new ArrayList<>(List.of(answer.get("error").get("message").asText()));
        answer.get("error").get("data").forEach(p -> error.add(p.asText()));
        return error;
    }

    private JsonNode rpc(String method, Object... params) throws Exception {
        return rpcAsync(method, params).get(15, TimeUnit.SECONDS);
    }

    private CompletableFuture<JsonNode> rpcAsync(String method, Object... params) throws IOException {
        byte[] body = JSON.writeValueAsBytes(
                Map.of("jsonrpc", "2.0", "method", method, "params", params, "id", IDS.incrementAndGet()));
        return HTTP.sendAsync(jsonRequest(BodyPublishers.ofByteArray(body)), BodyHandlers.ofByteArray())
                .thenApply(response -> {
                    assertEquals(200, response.statusCode());
                    try {
                        return JSON.readTree(response.body());
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    private HttpResponse<Void> post(String body) throws Exception {
        return HTTP.send(jsonRequest(BodyPublishers.ofString(body)), BodyHandlers.discarding());
    }

    private HttpRequest jsonRequest(HttpRequest.BodyPublisher body) {
        return HttpRequest.newBuilder(URI.create(sim.url() + "/jsonrpc"))
                .header("Content-Type", "application/json").POST(body).build();
    }

    private int put(String sessionRef, String vdi, HttpRequest.BodyPublisher body) throws Exception {
        URI uri = URI.create(sim.url() + "/import_raw_vdi?session_id=" + sessionRef + "&vdi=" + vdi + "&format=raw");
        return HTTP.send(HttpRequest.newBuilder(uri).PUT(body).build(), BodyHandlers.discarding()).statusCode();
    }
}
