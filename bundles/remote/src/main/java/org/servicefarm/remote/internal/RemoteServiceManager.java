package org.servicefarm.remote.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NotSupportedException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Directory mode: a {@link ServiceManager} that holds no hosts and forwards every request to a manager appliance's
 * REST API ({@code POST /api/v1/requests}), answering from what it returns: 200 GRANTED, 503 RETRY_LATER (its
 * Retry-After), 404 NEVER (its detail), 400 a malformed request (its field). A manager that cannot be reached, or
 * refuses the login, is answered RETRY_LATER: the client may ask again, and the operator reads why in the log
 * (the URL and the user, never the password). The directory, the state table and the catalog are read from the
 * manager's API too.
 * <p>
 * Registered only when {@code etc/org.servicefarm.remote.cfg} exists, with {@code servicefarm.manager=remote} and a
 * low ranking, so that nothing takes it in place of a local manager by chance: a front end selects it by a target
 * filter, e.g. {@code manager.target = (servicefarm.manager=remote)} in {@code etc/org.servicefarm.dns.cfg}.
 */
@Component(service = ServiceManager.class, configurationPid = RemoteConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = {"servicefarm.manager=remote", "service.ranking:Integer=-100"})
@Designate(ocd = RemoteConfig.class)
public class RemoteServiceManager implements ServiceManager {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteServiceManager.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The catalog's endpoint answers at most this many offerings at once. */
    static final int MAX_OFFERINGS = 1000;

    private final URI base;
    private final String user;
    private final String authorization;
    private final Duration timeout;
    private final Duration unreachableRetry;
    private final HttpClient http;
    /** The last refusal status logged, so that a wrong login is logged once, not at every request. */
    private final AtomicInteger lastLogged = new AtomicInteger();

    @Activate
    public RemoteServiceManager(RemoteConfig config) {
        this.base = base(config.url());
        if (config.user() == null || config.user().isBlank() || config._password() == null) {
            throw new IllegalArgumentException("user and password are required to log in to the manager at " + base);
        }
        this.user = config.user();
        this.authorization = "Basic " + Base64.getEncoder().encodeToString(
                (config.user() + ":" + config._password()).getBytes(StandardCharsets.UTF_8));
        this.timeout = Duration.ofSeconds(Math.max(1, config.timeoutSeconds()));
        this.unreachableRetry = Duration.ofSeconds(Math.max(1, config.unreachableRetrySeconds()));
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
        LOG.info("requests are forwarded to the manager at {} as user {}", base, user);
    }

    /** The manager's base URL: http or https, a host, no credentials (they would be logged with it), no query. */
    static URI base(String url) {
        URI uri;
        try {
            uri = URI.create(url == null ? "" : url.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("url is not a URL: " + e.getMessage());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("url must be http(s)://host[:port][/path], with the login in user and "
                    + "password, not in the URL");
        }
        String text = uri.toString();
        return URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    }

    @Override
    public Outcome request(ServiceRequest request) {
        try {
            return requestAsync(request).toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
    }

    @Override
    public CompletionStage<Outcome> requestAsync(ServiceRequest request) {
        Instant started = Instant.now();
        Duration wait = (request.deadline() == null ? Duration.ZERO : request.deadline()).plus(timeout);
        HttpRequest post = builder("/api/v1/requests").timeout(wait).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(request).toString())).build();
        return http.sendAsync(post, HttpResponse.BodyHandlers.ofString())
                .handle((response, failure) -> outcome(response, failure, Duration.between(started, Instant.now())));
    }

    /** A request as the REST API's body: fields left out stay out. */
    static ObjectNode body(ServiceRequest request) {
        ObjectNode body = JSON.createObjectNode().put("service", request.service());
        putIf(body, "version", request.version());
        Environment env = request.environment();
        if (!env.equals(Environment.ANY)) {
            ObjectNode environment = body.putObject("environment");
            putIf(environment, "os", env.os());
            putIf(environment, "server", env.server());
            putIf(environment, "runtime", env.runtime());
            if (!env.patches().isEmpty()) {
                env.patches().forEach(environment.putArray("patches")::add);
            }
        }
        putIf(body, "securityLevel", request.securityLevel());
        putIf(body, "tier", request.tier());
        if (request.deadline() != null) {
            body.put("deadlineMs", request.deadline().toMillis());
        }
        putIf(body, "retryTicket", request.retryTicket()); // the manager's own ticket: passed back as it gave it
        return body;
    }

    private static void putIf(ObjectNode node, String field, String value) {
        if (value != null) {
            node.put(field, value);
        }
    }

    Outcome outcome(HttpResponse<String> response, Throwable failure, Duration elapsed) {
        if (failure != null) {
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            refused(-1, "cannot be reached: " + cause);
            return unreachable("the manager cannot be reached (" + cause.getClass().getSimpleName() + ")", elapsed);
        }
        int status = response.statusCode();
        JsonNode json = parse(response.body());
        switch (status) {
            case 200 -> {
                lastLogged.set(0);
                JsonNode endpoint = json.path("endpoint");
                Activation activation = activation(json.path("activation").asText());
                return new Outcome.Granted(new Endpoint(endpoint.path("host").asText(), endpoint.path("port").asInt()),
                        activation == Activation.NATIVE ? null : json.path("vmId").asText(), text(json, "hostId"),
                        activation, offering(json.path("offering")), strings(json.path("filledIn")), elapsed);
            }
            case 503 -> {
                lastLogged.set(0);
                long seconds = response.headers().firstValue("Retry-After").map(RemoteServiceManager::seconds)
                        .orElse(json.path("retryAfterSeconds").asLong(unreachableRetry.toSeconds()));
                return new Outcome.RetryLater(Duration.ofSeconds(Math.max(1, seconds)), offering(json.path("offering")),
                        strings(json.path("filledIn")), text(json, "detail"), elapsed, ticket(text(json, "retryTicket")));
            }
            case 404 -> {
                if ("NEVER".equals(json.path("outcome").asText())) {
                    lastLogged.set(0);
                    return new Outcome.Never(json.path("detail").asText("not viable"), elapsed);
                }
            }
            case 400 -> throw new InvalidRequestException(text(json, "field"), json.path("detail").asText(
                    "the manager refused the request as malformed"));
            default -> {
            }
        }
        refused(status, "answered HTTP " + status + (json.has("detail") ? ": " + json.path("detail").asText() : ""));
        return unreachable("the manager answered HTTP " + status, elapsed);
    }

    /** The manager's retry ticket, when it is one (anything else is dropped: the retry then counts as a request). */
    private static String ticket(String ticket) {
        return ServiceRequest.wellFormedRetryTicket(ticket) ? ticket : null;
    }

    private Outcome unreachable(String detail, Duration elapsed) {
        return new Outcome.RetryLater(unreachableRetry, null, List.of(), detail, elapsed);
    }

    /** Logs a refusal once until the manager answers again (a wrong password would otherwise log every request). */
    private void refused(int status, String what) {
        if (lastLogged.getAndSet(status) != status) {
            LOG.warn("the manager at {} (user {}) {}", base, user, what);
        }
    }

    private static long seconds(String retryAfter) {
        try {
            return Long.parseLong(retryAfter.trim());
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static Activation activation(String name) {
        try {
            return Activation.valueOf(name);
        } catch (IllegalArgumentException e) {
            // a newer manager's activation this appliance does not know: the grant stands, its kind is unknown
            return Activation.ACTIVE;
        }
    }

    // ---- the manager's read-only views, synchronously --------------------------------------------------------

    private JsonNode get(String path) {
        HttpResponse<String> response;
        try {
            response = http.send(builder(path).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("the manager at " + base + " cannot be reached: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking the manager at " + base);
        }
        if (response.statusCode() == 404) {
            return null;
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("the manager at " + base + " answered " + path + " with HTTP "
                    + response.statusCode());
        }
        return parse(response.body());
    }

    private HttpRequest.Builder builder(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", authorization)
                .header("Accept", "application/json");
    }

    @Override
    public DirectoryView directory() {
        return new DirectoryView() {
            @Override
            public Resolution resolve(ServiceRequest request) {
                // explain=true: what the manager would answer, nothing done there
                HttpRequest post = builder("/api/v1/requests?explain=true").timeout(timeout)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body(request).toString())).build();
                try {
                    HttpResponse<String> response = http.send(post, HttpResponse.BodyHandlers.ofString());
                    JsonNode json = parse(response.body());
                    if (response.statusCode() == 400) {
                        throw new InvalidRequestException(text(json, "field"), json.path("detail").asText());
                    }
                    if (response.statusCode() != 200) {
                        throw new IllegalStateException("the manager at " + base + " answered HTTP "
                                + response.statusCode() + " to an explanation");
                    }
                    Offering offering = offering(json.path("offering"));
                    return offering == null ? new Resolution.NotViable(json.path("action").asText("not viable"))
                            : new Resolution.Viable(offering, strings(json.path("filledIn")));
                } catch (IOException e) {
                    throw new IllegalStateException("the manager at " + base + " cannot be reached: " + e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while asking the manager at " + base);
                }
            }

            @Override
            public List<Offering> offerings(int limit) {
                JsonNode json = get("/api/v1/catalog/offerings?limit=" + Math.max(1, Math.min(limit, MAX_OFFERINGS)));
                List<Offering> offerings = new ArrayList<>();
                if (json != null) {
                    json.path("offerings").forEach(o -> offerings.add(offering(o)));
                }
                return offerings;
            }

            @Override
            public List<CatalogComponent> components() {
                JsonNode json = get("/api/v1/catalog/components");
                List<CatalogComponent> components = new ArrayList<>();
                if (json != null) {
                    json.path("components").forEach(c -> components.add(new CatalogComponent(
                            CatalogComponent.Kind.valueOf(c.path("kind").asText()), c.path("name").asText(),
                            text(c, "version"))));
                }
                return components;
            }

            @Override
            public List<String> rules() {
                JsonNode json = get("/api/v1/catalog/rules");
                return json == null ? List.of() : strings(json.path("rules"));
            }

            @Override
            public List<String> securityLevels() {
                JsonNode json = get("/api/v1/catalog/rules");
                return json == null ? List.of() : strings(json.path("securityLevels"));
            }
        };
    }

    @Override
    public StateTableView stateTable() {
        return new StateTableView() {
            @Override
            public List<VmRecord> vms() {
                JsonNode json = get("/api/v1/vms");
                List<VmRecord> vms = new ArrayList<>();
                if (json != null) {
                    json.path("vms").forEach(vm -> vms.add(RemoteServiceManager.vm(vm)));
                }
                return vms;
            }

            @Override
            public Optional<VmRecord> vm(String id) {
                JsonNode json = get("/api/v1/vms/" + URLEncoder.encode(id, StandardCharsets.UTF_8));
                return json == null ? Optional.empty() : Optional.of(RemoteServiceManager.vm(json));
            }

            @Override
            public List<VmRecord> offering(Offering offering) {
                return vms().stream().filter(vm -> vm.offering().equals(offering) && vm.state().occupiesHost())
                        .toList();
            }
        };
    }

    /** None: a directory appliance holds no hosts; the manager's are listed by its own API. */
    @Override
    public List<HostStatus> hosts() {
        return List.of();
    }

    @Override
    public HostStatus registerHost(HostRecord host) {
        throw unsupported("add hosts");
    }

    @Override
    public void unregisterHost(String name) {
        throw unsupported("remove hosts");
    }

    /** Explaining, draining and VM moves (the interface's defaults) too: only the manager does them. */
    @Override
    public NotSupportedException unsupported(String operation) {
        return new NotSupportedException("a directory appliance does not " + operation + ": ask the manager at "
                + base);
    }

    // ---- the REST API's JSON -> API records ---------------------------------------------------------------

    private static JsonNode parse(String body) {
        try {
            return body == null || body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isMissingNode() || value.isNull() ? null : value.asText();
    }

    private static List<String> strings(JsonNode array) {
        List<String> strings = new ArrayList<>();
        array.forEach(s -> strings.add(s.asText()));
        return strings;
    }

    static Offering offering(JsonNode json) {
        if (json == null || !json.isObject()) {
            return null;
        }
        JsonNode env = json.path("environment");
        return new Offering(json.path("service").asText(), json.path("version").asText(),
                new Environment(text(env, "os"), text(env, "server"), text(env, "runtime"),
                        strings(env.path("patches"))), json.path("securityLevel").asText());
    }

    static VmRecord vm(JsonNode json) {
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        json.path("endpoints").fields().forEachRemaining(e -> endpoints.put(e.getKey(),
                new Endpoint(e.getValue().path("host").asText(), e.getValue().path("port").asInt())));
        JsonNode resources = json.path("resources");
        String lastUsed = text(json, "lastUsedAt");
        String created = text(json, "createdAt");
        return new VmRecord(json.path("id").asText(), json.path("host").asText(), text(json, "image"),
                offering(json.path("offering")), endpoints, VmState.valueOf(json.path("state").asText()),
                new Capacity(resources.path("vcpus").asInt(), resources.path("memoryMiB").asLong(),
                        resources.path("vms").asInt()),
                created == null ? null : Instant.parse(created), lastUsed == null ? null : Instant.parse(lastUsed),
                json.path("grants").asLong(), text(json, "detail"));
    }
}
