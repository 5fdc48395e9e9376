package org.servicefarm.driver.xapi.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.servicefarm.api.Names;
import org.servicefarm.api.driver.HypervisorException;

/**
 * XAPI's JSON-RPC 2.0 ({@code POST /jsonrpc}) with one session, logged in again once when the pool says the session
 * is gone (a xapi restart ends every session). Every value travels as JSON built by Jackson, so no name the farm
 * gives (a VM id, a label) is ever spliced into a request. Calls are interruptible: a closing connection stops
 * waiting at once.
 */
final class XapiRpc implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String ORIGINATOR = "ServiceFarm";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** The pool is not trusted to bound its answers: the records of some 10,000 VMs fit. */
    private static final int MAX_ANSWER_BYTES = 256 * 1024 * 1024;

    private final URI endpoint;
    private final URI base;
    private final String username;
    private final String password;
    private final Duration callTimeout;
    private final HttpClient http;
    private final AtomicLong ids = new AtomicLong();
    private volatile String session;
    /** After {@link #close}: no call logs in again (a late call must not leave a session behind). */
    private volatile boolean closed;

    /** @param tls what the pool's certificate is checked against; {@code null}: this JVM's trust store */
    XapiRpc(URI base, SSLContext tls, String username, String password, Duration callTimeout) {
        this.base = base;
        this.endpoint = base.resolve("/jsonrpc");
        this.username = username;
        this.password = password;
        this.callTimeout = callTimeout;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER);
        this.http = (tls == null ? builder : builder.sslContext(tls)).build();
    }

    /** Logs in (again): the session every later call uses. */
    synchronized void login() throws HypervisorException {
        JsonNode result = send("session.login_with_password", callTimeout, username, password, "2.21", ORIGINATOR);
        if (!result.isTextual()) {
            throw new HypervisorException("the pool at " + base + " answered a login without a session");
        }
        session = result.asText();
    }

    /** Calls {@code method} with the session first, then {@code params}. */
    JsonNode call(String method, Object... params) throws HypervisorException {
        return call(callTimeout, method, params);
    }

    /** As {@link #call(String, Object...)}, waiting at most {@code timeout} for the answer (a long poll). */
    JsonNode call(Duration timeout, String method, Object... params) throws HypervisorException {
        String used = session;
        try {
            return send(method, timeout, withSession(used, params));
        } catch (XapiException e) {
            if (!e.is(XapiException.SESSION_INVALID)) {
                throw e;
            }
            relogin(used);
            return send(method, timeout, withSession(session, params));
        }
    }

    private synchronized void relogin(String expired) throws HypervisorException {
        if (closed) {
            throw new HypervisorException("the connection to the pool at " + base + " is closed");
        }
        if (expired == null || expired.equals(session)) { // another thread may have logged in meanwhile
            login();
        }
    }

    private static Object[] withSession(String session, Object[] params) {
        Object[] all = new Object[params.length + 1];
        all[0] = session == null ? "" : session;
        System.arraycopy(params, 0, all, 1, params.length);
        return all;
    }

    private JsonNode send(String method, Duration timeout, Object... params) throws HypervisorException {
        ObjectNode request = JSON.createObjectNode();
        request.put("jsonrpc", "2.0");
        request.put("method", method);
        ArrayNode array = request.putArray("params");
        for (Object param : params) {
            array.add(JSON.valueToTree(param));
        }
        long id = ids.incrementAndGet();
        request.put("id", id);
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(request);
        } catch (IOException e) {
            throw new HypervisorException(method + ": cannot write the request: " + e.getMessage(), e);
        }
        HttpRequest post = HttpRequest.newBuilder(endpoint).timeout(timeout.plus(CONNECT_TIMEOUT))
                .header("Content-Type", "application/json").header("User-Agent", ORIGINATOR)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        HttpResponse<InputStream> response = exchange(method, post, HttpResponse.BodyHandlers.ofInputStream(), timeout);
        JsonNode answer;
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new HypervisorException(method + ": the pool at " + base + " answered HTTP "
                        + response.statusCode());
            }
            byte[] bytes = in.readNBytes(MAX_ANSWER_BYTES + 1);
            if (bytes.length > MAX_ANSWER_BYTES) {
                throw new HypervisorException(method + ": the pool at " + base + " answered more than "
                        + MAX_ANSWER_BYTES / (1024 * 1024) + " MiB");
            }
            answer = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new HypervisorException(method + ": the pool at " + base + " answered something that is not JSON");
        } catch (IOException e) {
            throw new Unreachable(method + ": the answer of the pool at " + base + " was cut short: "
                    + Names.excerpt(String.valueOf(e.getMessage()), 120));
        }
        JsonNode error = answer == null ? null : answer.get("error");
        if (error != null && !error.isNull()) {
            List<String> data = new ArrayList<>();
            JsonNode values = error.path("data");
            if (values.isArray()) {
                values.forEach(v -> data.add(v.isTextual() ? v.asText() : v.toString()));
            } else if (!values.isMissingNode() && !values.isNull()) {
                data.add(values.isTextual() ? values.asText() : values.toString());
            }
            throw new XapiException(method, error.path("message").asText("unknown error"), data);
        }
        if (answer == null || !answer.has("result")) {
            throw new HypervisorException(method + ": the pool at " + base + " answered neither a result nor an error");
        }
        return answer.get("result");
    }

    /** Uploads a file into a VDI as raw bytes ({@code PUT /import_raw_vdi}), XAPI's own disk import. */
    void importRaw(String vdiRef, Path file, Duration timeout) throws HypervisorException {
        for (int attempt = 0; ; attempt++) {
            String used = session;
            URI uri = base.resolve("/import_raw_vdi?session_id=" + query(used) + "&vdi=" + query(vdiRef)
                    + "&format=raw");
            HttpRequest put;
            try {
                put = HttpRequest.newBuilder(uri).timeout(timeout).header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofFile(file)).build();
            } catch (IOException e) {
                throw new HypervisorException("cannot read " + file.getFileName() + " to upload it: " + e.getMessage(), e);
            }
            int status = exchange("import_raw_vdi", put, HttpResponse.BodyHandlers.discarding(), timeout).statusCode();
            if (status == 200) {
                return;
            }
            if (status == 401 && attempt == 0) {
                relogin(used);
                continue;
            }
            throw new HypervisorException("uploading " + file.getFileName() + " to the pool at " + base
                    + " was answered HTTP " + status);
        }
    }

    private static String query(String value) {
        return URLEncoder.encode(value == null ? "" : value, StandardCharsets.UTF_8);
    }

    private <T> HttpResponse<T> exchange(String what, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                         Duration timeout) throws HypervisorException {
        CompletableFuture<HttpResponse<T>> pending = http.sendAsync(request, handler);
        try {
            return pending.get(timeout.plus(CONNECT_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new HypervisorException(what + ": interrupted");
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new Unreachable(what + ": the pool at " + base + " did not answer within " + timeout.toSeconds()
                    + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof SSLHandshakeException) {
                throw new Unreachable(what + ": the TLS certificate of the pool at " + base + " is not trusted (name "
                        + "it, or its CA, in the xapi driver's certificates): " + Names.excerpt(String.valueOf(
                        cause.getMessage()), 120));
            }
            throw new Unreachable(what + ": cannot reach the pool at " + base + ": "
                    + Names.excerpt(String.valueOf(cause.getMessage() == null ? cause.getClass().getSimpleName()
                    : cause.getMessage()), 120));
        }
    }

    /** Ends the session, waiting briefly: the pool forgets it after its own timeout anyway. */
    @Override
    public void close() {
        closed = true;
        String used = session;
        session = null;
        if (used != null) {
            try {
                send("session.logout", Duration.ofSeconds(2), used);
            } catch (HypervisorException e) {
                // the pool may be gone already; its sessions time out on their own
            }
        }
    }

    /** The pool could not be reached or did not answer: the connection is over (its events stopped too). */
    static final class Unreachable extends HypervisorException {
        private static final long serialVersionUID = 1L;

        Unreachable(String message) {
            super(message);
        }
    }
}
