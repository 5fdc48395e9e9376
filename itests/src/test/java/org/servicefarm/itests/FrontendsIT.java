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
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The front ends of issue 12 on the assembled appliance: request ids in answers and in the log, Prometheus text at
 * /metrics, asynchronous answers to many waiting clients.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class FrontendsIT extends BootedAppliance {

    private int port;
    /** System property (inside the appliance, where the tests run) holding the DNS front end's port. */
    private static final String DNS_PORT_PROPERTY = "servicefarm.it.dns.port";
    private static String dnsPort;

    @Override
    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>(List.of(ApplianceOptions.boot()));
        // each REST answer logged (at DEBUG), so the log shows the request id of a request that logs nothing else
        options.add(editConfigurationFilePut("etc/org.ops4j.pax.logging.cfg", "log4j2.logger.sfaccess.name",
                "org.servicefarm.rest.access"));
        options.add(editConfigurationFilePut("etc/org.ops4j.pax.logging.cfg", "log4j2.logger.sfaccess.level", "DEBUG"));
        String free = ApplianceOptions.freePort();
        options.add(editConfigurationFilePut("etc/org.servicefarm.dns.cfg", "port", free));
        options.add(org.ops4j.pax.exam.CoreOptions.systemProperty(DNS_PORT_PROPERTY).value(free));
        // blog's registrations are private: answered through REST only
        options.add(editConfigurationFilePut("etc/org.servicefarm.dns.cfg", "privateApplications", "blog"));
        return options.toArray(Option[]::new);
    }

    @Before
    public void ports() {
        port = Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY));
        dnsPort = System.getProperty(DNS_PORT_PROPERTY);
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
        HttpResponse<String> never = client.post("/api/v1/requests",
                "{\"service\":\"wiki\",\"environment\":{\"os\":\"windows-2022\"}}", Login.OPERATOR);
        assertEquals(404, never.statusCode());
        // the nearest viable requests, each posted as it is: not NEVER (granted, or RETRY_LATER while it boots)
        JsonNode suggestions = FarmClient.json(never).path("suggestions");
        assertTrue(never.body(), suggestions.size() >= 1 && suggestions.size() <= 3);
        for (JsonNode suggestion : suggestions) {
            assertEquals("wiki", suggestion.path("service").asText());
            int status = client.post("/api/v1/requests", suggestion.toString(), Login.OPERATOR).statusCode();
            assertTrue(suggestion + " answered " + status, status == 200 || status == 503);
        }

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
        assertTrue("VMs by state: " + samples.entrySet().stream().filter(e -> e.getKey().startsWith("servicefarm_vms{"))
                .toList() + "; the table: " + client.get("/api/v1/vms", Login.VIEWER).body(),
                samples.get("servicefarm_vms{state=\"ACTIVE\"}") >= 1);
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

    @Test
    public void d_digGetsAnSrvAnswerWhoseEndpointServesServfailWhileBuildingAndNxdomainForNever() throws Exception {
        // cold: the VM takes longer than the DNS deadline (1.5 s) to answer, so first SERVFAIL
        String name = "_static-site._tcp.farm.local";
        String first = dig("SRV", name, false);
        assertTrue(first, first.contains("status: SERVFAIL"));
        String answer = null;
        int retries = 0;
        Instant deadline = Instant.now().plusSeconds(60);
        while (Instant.now().isBefore(deadline)) {
            String full = dig("SRV", name, false);
            if (full.contains("status: NOERROR")) {
                answer = full;
                break;
            }
            assertTrue(full, full.contains("status: SERVFAIL"));
            retries++;
            FarmClient.pause(1000);
        }
        assertTrue("granted over DNS within 60 s", answer != null);
        // the resolver's queries after its SERVFAIL were that request's retries: one request counted
        JsonNode counted = null;
        for (JsonNode demand : FarmClient.json(client.get("/api/v1/popularity", Login.VIEWER)).path("offerings")) {
            if (demand.path("offering").path("service").asText().equals("static-site")) {
                counted = demand;
            }
        }
        assertTrue("static-site is counted", counted != null);
        assertEquals(retries + " retries: " + counted, 1, counted.path("requests").asLong());
        Matcher srv = Pattern.compile(Pattern.quote(name) + "\\.\\s+\\d+\\s+IN\\s+SRV\\s+0 0 (\\d+) (sf-[0-9a-f]{12})\\.vm\\.farm\\.local\\.")
                .matcher(answer);
        assertTrue(answer, srv.find());
        int servicePort = Integer.parseInt(srv.group(1));
        assertTrue(answer, Pattern.compile(srv.group(2) + "\\.vm\\.farm\\.local\\.\\s+30\\s+IN\\s+A\\s+127\\.0\\.0\\.1")
                .matcher(answer).find());
        HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + servicePort + "/")).GET());
        assertEquals("the SRV target and port answer HTTP", 200, page.statusCode());
        // the same over TCP, and an A query on the VM's name
        assertTrue(dig("SRV", name, true).contains("status: NOERROR"));
        assertTrue(Pattern.compile("IN\\s+A\\s+127\\.0\\.0\\.1").matcher(dig("A", srv.group(2) + ".vm.farm.local", false))
                .find());

        String never = dig("SRV", "_wiki._tcp.os-windows-2022.farm.local", false);
        assertTrue(never, never.contains("status: NXDOMAIN"));
        assertTrue("the reason, as TXT: " + never, never.contains("TXT"));
        // a name to ask instead: wiki on an operating system with PHP, which dig then gets an answer for
        Matcher suggestion = Pattern.compile("\"try (_wiki\\._tcp\\.os-[a-z0-9_-]+\\.farm\\.local)\\.\"").matcher(never);
        assertTrue("a suggestion, as TXT: " + never, suggestion.find());
        String suggested = dig("SRV", suggestion.group(1), false);
        assertTrue(suggested, suggested.contains("status: NOERROR") || suggested.contains("status: SERVFAIL"));
        String hostile = dig("SRV", "_wiki._tcp.os-a\\;id.farm.local", false);
        assertTrue(hostile, hostile.contains("status: NXDOMAIN"));
        // the zone as a resolver that minimises its query names walks it: the apex and the names on the way exist
        String apex = dig("SOA", "farm.local", false);
        assertTrue(apex, apex.contains("status: NOERROR") && Pattern.compile("(?m)^farm\\.local\\.\\s+\\d+\\s+IN\\s+SOA")
                .matcher(apex).find());
        for (String above : new String[] {"os-debian-12.farm.local", "_tcp.os-debian-12.farm.local"}) {
            String walked = dig("A", above, false);
            assertTrue(walked, walked.contains("status: NOERROR") && walked.contains("ANSWER: 0"));
        }

        String privateOne = dig("SRV", "_blog._tcp.farm.local", false);
        assertTrue("a private registration is not answered over DNS: " + privateOne, privateOne.contains("status: REFUSED"));

        HttpResponse<String> status = client.get("/api/v1/status", Login.VIEWER);
        assertTrue(status.body(), status.body().contains("\"name\":\"dns\"")
                && status.body().contains("dns://127.0.0.1:" + dnsPort + "/farm.local"));
    }

    /**
     * Garbage on the DNS port (300 datagrams of random bytes from a fixed seed, and queries cut short): whatever is
     * answered is a response (never garbage bounced back), a query that cannot be read is answered FORMERR, nothing is
     * logged above INFO, and dig is answered as before.
     */
    @Test
    public void e_garbageOnTheDnsPortIsAnsweredFormerrOrNothingAndDigIsAnsweredAfter() throws Exception {
        long logSize = Files.size(log());
        java.util.Random random = new java.util.Random(4711);
        List<byte[]> garbage = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] bytes = new byte[random.nextInt(600)];
            random.nextBytes(bytes);
            garbage.add(bytes);
        }
        byte[] query = {0x47, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, '_', 'w', 'i', 'k', 'i', 4, '_', 't', 'c',
                'p', 4, 'f', 'a', 'r', 'm', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 33, 0, 1};
        for (int cut = 13; cut < query.length; cut += 4) {
            garbage.add(java.util.Arrays.copyOf(query, cut)); // a query's header, its question cut short
        }
        int responses = 0;
        int formatErrors = 0;
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket()) {
            java.net.InetSocketAddress dns = new java.net.InetSocketAddress("127.0.0.1", Integer.parseInt(dnsPort));
            for (byte[] datagram : garbage) {
                socket.send(new java.net.DatagramPacket(datagram, datagram.length, dns));
            }
            socket.setSoTimeout(1000);
            java.net.DatagramPacket reply = new java.net.DatagramPacket(new byte[4096], 4096);
            while (true) {
                try {
                    socket.receive(reply);
                } catch (java.net.SocketTimeoutException e) {
                    break; // a second of silence: everything that will be answered was
                }
                responses++;
                byte[] answer = reply.getData();
                assertTrue("an answer is a DNS response", reply.getLength() >= 12 && (answer[2] & 0x80) != 0);
                if ((answer[3] & 0x0f) == 1) {
                    formatErrors++;
                }
            }
        }
        System.out.println("FrontendsIT: " + garbage.size() + " garbage datagrams, " + responses + " answered, "
                + formatErrors + " of them FORMERR");
        assertTrue("the queries cut short are answered FORMERR: " + formatErrors, formatErrors >= 6);
        String apex = dig("SOA", "farm.local", false);
        assertTrue(apex, apex.contains("status: NOERROR"));
        List<String> logged = logProblemsAfter(logSize);
        assertTrue("garbage is no operator's warning: " + logged, logged.isEmpty());
    }

    private static String dig(String type, String name, boolean tcp) throws Exception {
        return FarmClient.dig(dnsPort, type, name, tcp);
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

    /**
     * A service a host runs itself (ROADMAP: physical hosts offering services natively): added by an admin over REST
     * (bad input refused first, nothing saved), it is granted over REST and DNS at its own endpoint, without a VM, while it
     * answers; stopped, its requests go to VMs again; removed, it is gone. The "physical host" is a real HTTP server
     * on loopback, in this JVM.
     */
    @Test
    public void f_aServiceAHostRunsItselfIsGrantedOverRestAndDnsWithoutAVmWhileItAnswers() throws Exception {
        JsonNode offering = FarmClient.json(client.post("/api/v1/requests?explain=true",
                "{\"service\":\"api-gateway\"}", Login.OPERATOR)).path("offering");
        JsonNode environment = offering.path("environment");
        try (java.net.ServerSocket listening = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> serveHttp(listening), "s140-api-gateway");
            server.setDaemon(true);
            server.start();
            int nativePort = listening.getLocalPort();
            com.fasterxml.jackson.databind.node.ObjectNode registration = FarmClient.JSON.createObjectNode();
            registration.put("name", "s140-api").put("host", "s140");
            registration.putObject("endpoint").put("host", "127.0.0.1").put("port", nativePort);
            registration.set("offering", offering);
            // bad input first: refused with the field named, nothing saved
            com.fasterxml.jackson.databind.node.ObjectNode hostile = registration.deepCopy();
            hostile.with("endpoint").put("host", "127.0.0.1 ; reboot");
            HttpResponse<String> refused = client.post("/api/v1/natives", hostile.toString(), Login.ADMIN);
            assertEquals(refused.body(), 400, refused.statusCode());
            assertEquals(refused.body(), "endpoint.host", FarmClient.json(refused).path("field").asText());
            assertEquals(0, natives().size());
            HttpResponse<String> added = client.post("/api/v1/natives", registration.toString(), Login.ADMIN);
            assertEquals(added.body(), 201, added.statusCode());
            assertTrue(added.headers().firstValue("Location").orElse(""),
                    added.headers().firstValue("Location").orElse("").endsWith("/api/v1/natives/s140-api"));
            assertEquals(409, client.post("/api/v1/natives", registration.toString(), Login.ADMIN).statusCode());
            try {
                awaitNative(true);

                HttpResponse<String> granted = client.post("/api/v1/requests", "{\"service\":\"api-gateway\"}",
                        Login.OPERATOR);
                assertEquals(granted.body(), 200, granted.statusCode());
                JsonNode grant = FarmClient.json(granted);
                assertEquals(granted.body(), "NATIVE", grant.path("activation").asText());
                assertEquals(granted.body(), "s140", grant.path("hostId").asText());
                assertTrue(granted.body(), grant.path("vmId").isMissingNode());
                assertEquals(granted.body(), nativePort, grant.path("endpoint").path("port").asInt());
                HttpResponse<String> page = client.getService(grant.path("endpoint"));
                assertEquals("the host's own server answers", "s140", page.headers().firstValue("Server").orElse(""));

                String srv = dig("SRV", "_api-gateway._tcp.farm.local", false);
                assertTrue(srv, Pattern.compile("IN\\s+SRV\\s+0 0 " + nativePort + " s140\\.host\\.farm\\.local\\.")
                        .matcher(srv).find());
                assertTrue(srv, Pattern.compile("s140\\.host\\.farm\\.local\\.\\s+\\d+\\s+IN\\s+A\\s+127\\.0\\.0\\.1")
                        .matcher(srv).find());
                assertTrue(Pattern.compile("IN\\s+A\\s+127\\.0\\.0\\.1")
                        .matcher(dig("A", "s140.host.farm.local", false)).find());
                assertTrue(dig("A", "s141.host.farm.local", false).contains("status: NXDOMAIN"));
                assertTrue("no VM offers it: " + client.get("/api/v1/vms", Login.VIEWER).body(),
                        !client.get("/api/v1/vms", Login.VIEWER).body().contains("api-gateway"));
                assertTrue(natives().toString(), natives().path(0).path("grants").asLong() >= 2);

                listening.close(); // the host's service stops
                awaitNative(false);
                JsonNode byVm = FarmClient.json(client.post("/api/v1/requests", "{\"service\":\"api-gateway\"}",
                        Login.OPERATOR));
                assertTrue(byVm.toString(), !"NATIVE".equals(byVm.path("activation").asText()));
                assertTrue(natives().toString(), natives().path(0).path("detail").asText().contains("127.0.0.1"));
            } finally {
                HttpResponse<String> removed = client.send("DELETE", "/api/v1/natives/s140-api", null, Login.ADMIN);
                assertEquals(removed.body(), 204, removed.statusCode());
            }
            Instant deadline = Instant.now().plusSeconds(30);
            while (natives().size() > 0) {
                assertTrue("the native service is removed with its configuration", Instant.now().isBefore(deadline));
                FarmClient.pause(100);
            }
        }
    }

    private JsonNode natives() {
        HttpResponse<String> natives = client.get("/api/v1/natives", Login.VIEWER);
        assertEquals(natives.body(), 200, natives.statusCode());
        return FarmClient.json(natives).path("natives");
    }

    private void awaitNative(boolean answering) {
        Instant deadline = Instant.now().plusSeconds(30);
        while (true) {
            JsonNode natives = natives();
            if (natives.size() == 1 && natives.path(0).path("answering").asBoolean() == answering
                    && natives.path(0).hasNonNull("since")) {
                return;
            }
            assertTrue("native service answering=" + answering + ": " + natives, Instant.now().isBefore(deadline));
            FarmClient.pause(100);
        }
    }

    /** A host's own web server: answers every request 200, until its socket is closed. */
    private static void serveHttp(java.net.ServerSocket listening) {
        while (!listening.isClosed()) {
            try (java.net.Socket connection = listening.accept()) {
                connection.setSoTimeout(5000);
                java.io.BufferedReader request = new java.io.BufferedReader(new java.io.InputStreamReader(
                        connection.getInputStream(), StandardCharsets.US_ASCII));
                for (String line = request.readLine(); line != null && !line.isEmpty(); line = request.readLine()) {
                    // the request line and headers: read, not needed
                }
                connection.getOutputStream().write(("HTTP/1.1 200 OK\r\nServer: s140\r\nContent-Length: 7\r\n"
                        + "Connection: close\r\n\r\nnative\n").getBytes(StandardCharsets.US_ASCII));
            } catch (java.io.IOException e) {
                // closed, or a client that went away: the next one is served
            }
        }
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
