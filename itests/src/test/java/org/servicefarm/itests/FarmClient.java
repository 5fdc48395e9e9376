package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The REST API as a client sees it: HTTP with Basic login against the appliance's demo users. */
final class FarmClient {

    /** A demo login from the assembly's etc/users.properties. */
    record Login(String user, String password) {
        static final Login ADMIN = new Login("admin", "admin");
        static final Login OPERATOR = new Login("operator", "operator");
        static final Login VIEWER = new Login("viewer", "viewer");
        static final Login NONE = null;

        String header() {
            return "Basic " + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A grant and how many RETRY_LATER answers came before it. */
    record Grant(JsonNode body, int retries) {
        String vmId() {
            return body.path("vmId").asText();
        }

        String hostId() {
            return body.path("hostId").asText();
        }

        String activation() {
            return body.path("activation").asText();
        }

        JsonNode endpoint() {
            return body.path("endpoint");
        }
    }

    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    FarmClient(int port) {
        this.base = "http://localhost:" + port;
    }

    HttpResponse<String> get(String path, Login login) {
        return send(request(path, login).GET());
    }

    HttpResponse<String> post(String path, String json, Login login) {
        return send(request(path, login).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** {@code GET /} of a granted service at its endpoint, as a client of the service would ask. */
    HttpResponse<String> getService(JsonNode endpoint) {
        return getService(endpoint, "/");
    }

    /** {@code GET path} of a granted service at its endpoint. */
    HttpResponse<String> getService(JsonNode endpoint, String path) {
        String host = endpoint.path("host").asText();
        URI uri = URI.create("http://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":"
                + endpoint.path("port").asInt() + path);
        return send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET());
    }

    HttpResponse<String> delete(String path, Login login) {
        return send(request(path, login).DELETE());
    }

    /** Any method on a path sent as written (no normalisation), with a JSON body when {@code json} is not null. */
    HttpResponse<String> send(String method, String path, String json, Login login) {
        HttpRequest.Builder builder = request(path, login);
        if (json != null) {
            builder.header("Content-Type", "application/json");
        }
        return send(builder.method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json)));
    }

    /** Any method with a body of any bytes, sent with {@code contentType} (none when null), as a careless client would. */
    HttpResponse<String> sendBytes(String method, String path, byte[] body, String contentType, Login login) {
        HttpRequest.Builder builder = request(path, login);
        if (contentType != null) {
            builder.header("Content-Type", contentType);
        }
        return send(builder.method(method, HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** An answer as a client tells it: status and outcome, or the problem's type, or the body's start. */
    static String kindOf(HttpResponse<String> answer) {
        String type = answer.headers().firstValue("Content-Type").orElse("");
        if (type.startsWith("application/json")) {
            return answer.statusCode() + " " + FarmClient.json(answer).path("outcome").asText();
        }
        if (type.startsWith("application/problem+json")) {
            return answer.statusCode() + " " + FarmClient.json(answer).path("type").asText()
                    .replace("urn:servicefarm:problem:", "") + answer.headers().firstValue("Retry-After")
                    .map(seconds -> ", Retry-After " + seconds).orElse("");
        }
        return answer.statusCode() + " " + type + " " + answer.body().substring(0, Math.min(40, answer.body().length()));
    }

    /**
     * Waits until the REST API answers an authorised GET with 200: the boot features are
     * installed before the JAX-RS whiteboard has published every resource.
     */
    void awaitReady(Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        String last = "no answer";
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpResponse<String> response = send(request("/api/v1/hosts", Login.ADMIN).GET());
                if (response.statusCode() == 200) {
                    return;
                }
                last = response.statusCode() + " " + response.body();
            } catch (UncheckedIOException e) {
                last = e.getMessage();
            }
            pause(200);
        }
        fail("the REST API did not answer within " + timeout + ": " + last);
    }

    /**
     * Waits until the appliance lists every named host: the REST API answers before the demo hosts' feature has
     * registered them (a dashboard snapshot taken at once drew no host).
     */
    void awaitHosts(Duration timeout, String... names) {
        Instant deadline = Instant.now().plus(timeout);
        Set<String> listed = Set.of();
        while (Instant.now().isBefore(deadline)) {
            HttpResponse<String> response = get("/api/v1/hosts", Login.ADMIN);
            if (response.statusCode() == 200) {
                Set<String> seen = new HashSet<>();
                json(response).path("hosts").forEach(host -> seen.add(host.path("name").asText()));
                listed = seen;
                if (listed.containsAll(List.of(names))) {
                    return;
                }
            }
            pause(200);
        }
        fail("hosts " + List.of(names) + " were not all listed within " + timeout + ": " + listed);
    }

    /**
     * Posts a request until it is granted, waiting between tries as long as each 503 answer's
     * Retry-After says; fails on any other answer or after {@code timeout}.
     */
    Grant requestUntilGranted(String requestJson, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        int retries = 0;
        String asked = requestJson;
        while (true) {
            HttpResponse<String> response = post("/api/v1/requests", asked, Login.ADMIN);
            JsonNode body = json(response);
            if (response.statusCode() == 200) {
                assertEquals("GRANTED", body.path("outcome").asText());
                return new Grant(body, retries);
            }
            assertEquals("a request is granted or deferred, got " + response.body(), 503, response.statusCode());
            assertEquals("RETRY_LATER", body.path("outcome").asText());
            long retryAfter = Long.parseLong(response.headers().firstValue("Retry-After")
                    .orElseThrow(() -> new AssertionError("503 without Retry-After: " + response.body())));
            assertTrue("Retry-After is at least a second", retryAfter >= 1);
            assertEquals("the body and the header agree on when to retry", retryAfter,
                    body.path("retryAfterSeconds").asLong());
            retries++;
            // the retry sends the answer's ticket back: it is the same demand, not counted again
            asked = withRetryTicket(requestJson, body.path("retryTicket").asText(null));
            if (Instant.now().plusSeconds(retryAfter).isAfter(deadline)) {
                fail("not granted within " + timeout + " after " + retries + " RETRY_LATER answers: " + response.body());
            }
            pause(TimeUnit.SECONDS.toMillis(retryAfter)); // as the server asked
        }
    }

    /** {@code requestJson} with {@code ticket} as its retryTicket (as it is without a ticket). */
    static String withRetryTicket(String requestJson, String ticket) {
        if (ticket == null) {
            return requestJson;
        }
        try {
            ObjectNode request = (ObjectNode) JSON.readTree(requestJson);
            request.put("retryTicket", ticket);
            return JSON.writeValueAsString(request);
        } catch (IOException e) {
            throw new AssertionError("not a JSON request: " + requestJson, e);
        }
    }

    /** dig's full output for one query to the DNS front end on {@code port} (one try, 5 s), over TCP when asked. */
    static String dig(String port, String type, String name, boolean tcp) throws Exception {
        List<String> command = List.of("dig", "-p", port, "@127.0.0.1", "+tries=1", "+time=5",
                tcp ? "+tcp" : "+notcp", type, name);
        Process dig = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(dig.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!dig.waitFor(20, TimeUnit.SECONDS)) {
            dig.destroyForcibly();
            fail("dig did not end: " + output);
        }
        return output;
    }

    static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON (" + response.statusCode() + "): " + response.body(), e);
        }
    }

    private HttpRequest.Builder request(String path, Login login) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(30))
                // JSON for the API; /metrics answers Prometheus text, as a scraper accepts it, and /events
                // server-sent events (tests read only its snapshot: ?follow=false)
                .header("Accept", "application/json, text/plain;q=0.5, text/event-stream;q=0.4");
        if (login != null) {
            builder.header("Authorization", login.header());
        }
        return builder;
    }

    private HttpResponse<String> send(HttpRequest.Builder builder) {
        try {
            return http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Polls {@code condition} until it holds; fails after {@code timeout}. */
    static void await(String what, Duration timeout, java.util.function.BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            pause(200);
        }
    }
}
