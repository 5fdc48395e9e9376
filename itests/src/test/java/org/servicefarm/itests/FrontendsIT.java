package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;

import org.apache.karaf.features.BootFinished;
import org.junit.Before;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.ops4j.pax.exam.util.Filter;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.itests.FarmClient.Login;

/**
 * The front ends of issue 12 on the assembled appliance: request ids in answers and in the log, Prometheus text at
 * /metrics, asynchronous answers to many waiting clients.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class FrontendsIT {

    private static final Duration READY = Duration.ofSeconds(90);

    @Inject
    @Filter(timeout = 120_000)
    BootFinished bootFinished;

    @Inject
    @Filter(timeout = 60_000)
    ServiceManager serviceManager;

    private FarmClient client;
    private int port;

    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>(List.of(ApplianceOptions.boot()));
        // each REST answer logged (at DEBUG), so the log shows the request id of a request that logs nothing else
        options.add(editConfigurationFilePut("etc/org.ops4j.pax.logging.cfg", "log4j2.logger.sfaccess.name",
                "org.servicefarm.rest.access"));
        options.add(editConfigurationFilePut("etc/org.ops4j.pax.logging.cfg", "log4j2.logger.sfaccess.level", "DEBUG"));
        return options.toArray(Option[]::new);
    }

    @Before
    public void connect() {
        port = Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY));
        client = new FarmClient(port);
        client.awaitReady(READY);
    }

    @Test
    public void a_theRequestIdIsAnsweredAndLogged() throws Exception {
        HttpResponse<String> answer = send(HttpRequest.newBuilder(uri("/api/v1/hosts"))
                .header("Authorization", Login.VIEWER.header()).header("X-Request-Id", "it-trace-4711").GET());
        assertEquals(200, answer.statusCode());
        assertEquals("it-trace-4711", answer.headers().firstValue("X-Request-Id").orElse(null));

        HttpResponse<String> refused = send(HttpRequest.newBuilder(uri("/api/v1/hosts")).GET());
        assertEquals(401, refused.statusCode());
        String generated = refused.headers().firstValue("X-Request-Id").orElse("");
        assertTrue("a generated id: " + generated, generated.matches("[0-9a-f-]{36}"));
        assertEquals(generated, FarmClient.json(refused).path("requestId").asText());

        Path log = Path.of(System.getProperty("karaf.log", System.getProperty("karaf.data") + "/log"), "karaf.log");
        String line = awaitLine(log, "[req it-trace-4711] GET /api/v1/hosts -> 200");
        assertTrue(line, line.contains("RequestIdFilter") || line.contains("access"));
    }

    @Test
    public void b_metricsAreRefusedToAnonymousAndScrapedAsPrometheusText() {
        assertEquals(401, client.get("/metrics", null).statusCode());
        // a request of each kind, so the counters have something to say
        client.requestUntilGranted("{\"service\":\"blog\"}", Duration.ofSeconds(60));
        assertEquals(404, client.post("/api/v1/requests",
                "{\"service\":\"wiki\",\"environment\":{\"os\":\"windows-2022\"}}", Login.OPERATOR).statusCode());

        HttpResponse<String> scrape = send(HttpRequest.newBuilder(uri("/metrics"))
                .header("Authorization", Login.VIEWER.header()).GET());
        assertEquals(scrape.body(), 200, scrape.statusCode());
        assertTrue(scrape.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        Map<String, Double> samples = parse(scrape.body());
        assertTrue(samples.toString(), samples.get("servicefarm_requests_total{activation=\"NONE\",outcome=\"NEVER\"}") >= 1);
        double granted = samples.entrySet().stream().filter(e -> e.getKey().startsWith("servicefarm_requests_total{")
                && e.getKey().contains("outcome=\"GRANTED\"")).mapToDouble(Map.Entry::getValue).sum();
        assertTrue("a grant counted", granted >= 1);
        assertTrue(samples.get("servicefarm_request_seconds_count{outcome=\"GRANTED\"}") >= 1);
        assertTrue("a latency histogram", samples.keySet().stream()
                .anyMatch(k -> k.startsWith("servicefarm_request_seconds_bucket{outcome=\"GRANTED\",le=")));
        assertTrue(samples.get("servicefarm_vms{state=\"ACTIVE\"}") >= 1);
        assertEquals(3.0, samples.entrySet().stream().filter(e -> e.getKey().startsWith("servicefarm_host_connected{"))
                .mapToDouble(Map.Entry::getValue).sum(), 0.0);
        assertTrue(samples.containsKey("servicefarm_images{state=\"READY\"}"));
        assertTrue(samples.containsKey("servicefarm_image_store_bytes{state=\"READY\"}"));
    }

    @Test
    public void c_theOpenApiDocumentAndTheStatusAreServed() {
        HttpResponse<String> doc = client.get("/api/v1/openapi.json", Login.VIEWER);
        assertEquals(doc.body(), 200, doc.statusCode());
        assertEquals("[\"operator\"]", FarmClient.json(doc).at("/paths/~1api~1v1~1requests/post/x-roles").toString());
        HttpResponse<String> status = client.get("/api/v1/status", Login.VIEWER);
        assertEquals(status.body(), 200, status.statusCode());
        assertTrue(status.body(), FarmClient.json(status).path("frontends").toString().contains("\"rest\""));
    }

    // --- helpers ---------------------------------------------------------------------------------

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    static HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return HttpClient.newHttpClient().send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static String awaitLine(Path file, String text) throws Exception {
        Instant deadline = Instant.now().plusSeconds(20);
        while (Instant.now().isBefore(deadline)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.contains(text)) {
                    return line;
                }
            }
            FarmClient.pause(200);
        }
        fail("no line with '" + text + "' in " + file);
        return null;
    }

    /** Metric lines of the Prometheus text format 0.0.4 as name{labels} -> value; any other line fails. */
    static Map<String, Double> parse(String text) {
        Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*})?) (\\S+)(?: -?\\d+)?");
        Pattern comment = Pattern.compile("# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*");
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || comment.matcher(line).matches()) {
                continue;
            }
            Matcher m = sample.matcher(line);
            if (!m.matches()) {
                fail("not a Prometheus text line: " + line);
            }
            String value = m.group(2);
            samples.put(m.group(1), switch (value) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(value);
            });
        }
        return samples;
    }
}
