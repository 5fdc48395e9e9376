package org.servicefarm.itests;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A real headless Chromium (Debian's {@code chromium}), driven over the DevTools protocol with the JDK's own
 * WebSocket client: no driver binary or Java library to match the browser's version. One page; closing stops the
 * browser by its pid and removes its profile.
 */
final class HeadlessChromium implements AutoCloseable {

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    HeadlessChromium() throws IOException, InterruptedException {
        profile = Files.createTempDirectory("servicefarm-chromium");
        process = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1280,900", "about:blank")
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        try {
            socket = connect();
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The DevTools port from the profile's DevToolsActivePort file, then the page's WebSocket. */
    private WebSocket connect() throws IOException, InterruptedException {
        Path portFile = profile.resolve("DevToolsActivePort");
        Instant deadline = Instant.now().plusSeconds(30);
        while (!Files.isRegularFile(portFile) || Files.readAllLines(portFile).isEmpty()) {
            if (!process.isAlive() || Instant.now().isAfter(deadline)) {
                throw new IOException("chromium did not start: " + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(100);
        }
        String port = Files.readAllLines(portFile).get(0).trim();
        HttpClient http = HttpClient.newHttpClient();
        JsonNode targets = FarmClient.JSON.readTree(http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        String page = null;
        for (JsonNode target : targets) {
            if ("page".equals(target.path("type").asText())) {
                page = target.path("webSocketDebuggerUrl").asText();
            }
        }
        if (page == null) {
            throw new IOException("no page target: " + targets);
        }
        return http.newWebSocketBuilder().buildAsync(URI.create(page), new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    received(text.toString());
                    text.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        }).join();
    }

    private void received(String message) {
        try {
            JsonNode json = FarmClient.JSON.readTree(message);
            if (json.has("id")) {
                CompletableFuture<JsonNode> answer = pending.remove(json.path("id").asInt());
                if (answer != null) {
                    answer.complete(json);
                }
            }
        } catch (IOException e) {
            // not JSON: DevTools sends only JSON, so nothing to answer
        }
    }

    /** Calls a DevTools method and returns its result. */
    JsonNode call(String method, Map<String, Object> params) {
        int id = ids.incrementAndGet();
        ObjectNode message = FarmClient.JSON.createObjectNode().put("id", id).put("method", method);
        message.set("params", FarmClient.JSON.valueToTree(params));
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        socket.sendText(message.toString(), true).join();
        JsonNode json;
        try {
            json = answer.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(method + ": no answer from chromium", e);
        }
        if (json.has("error")) {
            throw new AssertionError(method + ": " + json.path("error"));
        }
        return json.path("result");
    }

    void navigate(String url) {
        call("Page.enable", Map.of());
        call("Page.navigate", Map.of("url", url));
        awaitValue("document.readyState === 'complete' && document.getElementById('login') !== null",
                v -> v.asBoolean(), Duration.ofSeconds(20));
    }

    /** The value of a JavaScript expression in the page (awaited when it is a promise). */
    JsonNode eval(String expression) {
        JsonNode result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true,
                "awaitPromise", true));
        if (result.has("exceptionDetails")) {
            throw new AssertionError(expression + ": " + result.path("exceptionDetails"));
        }
        return result.path("result").path("value");
    }

    /** Evaluates {@code expression} until its value satisfies {@code until}; the last value otherwise fails. */
    JsonNode awaitValue(String expression, Predicate<JsonNode> until, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        JsonNode value = null;
        while (Instant.now().isBefore(deadline)) {
            value = eval(expression);
            if (until.test(value)) {
                return value;
            }
            FarmClient.pause(200);
        }
        throw new AssertionError("after " + timeout + ": " + expression + " = " + value);
    }

    void screenshot(Path file) throws IOException {
        JsonNode shot = call("Page.captureScreenshot", Map.of("format", "png"));
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(shot.path("data").asText()));
    }

    @Override
    public void close() {
        if (socket != null) {
            socket.abort();
        }
        // the browser's own children (renderer, GPU, zygote) first, then the browser itself, each by its pid
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary profile left behind is harmless
        }
    }
}
