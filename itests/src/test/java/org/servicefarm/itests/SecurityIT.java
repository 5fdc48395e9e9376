package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.servicefarm.itests.FarmClient.Login;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The appliance as an attacker tries it (booted once for this class): every REST method under
 * every login and every spelling of its path, hostile host registrations, the framework's own
 * listings, the shell's error reporting over bin/client, login throttling and log injection.
 * Each finding of the security review is re-run here and must be refused without a state change.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class SecurityIT extends BootedAppliance {

    private static final String REST_PID = "org.servicefarm.rest";
    private static final Login WRONG_PASSWORD = new Login("admin", "not-the-password");
    private static final String PROBLEM_JSON = "application/problem+json";

    // --- the matrix: method x login x path spelling ------------------------------------------------

    /** The least role a call needs. */
    enum Need { VIEWER, OPERATOR, ADMIN }

    /**
     * One REST call: its method, path, body, the least role it needs and what it answers a login
     * that has that role. Bodies are chosen so that an allowed call changes nothing: a request (or an
     * image build) for a combination that is never viable, a host registration naming no installed
     * driver, the removal of a host that does not exist.
     */
    record Call(String method, String path, String body, Need need, int allowedStatus) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private static final String NEVER_REQUEST = "{\"service\":\"wiki\",\"environment\":{\"os\":\"windows-2022\"}}";
    private static final String HOST_OF_NO_DRIVER = "{\"name\":\"matrix\",\"driver\":\"no-such-driver\","
            + "\"uri\":\"test:///default\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1024,\"vms\":1}}";

    private static final String NATIVE_AT_A_HOSTILE_ADDRESS = "{\"name\":\"matrix\",\"host\":\"s140\","
            + "\"endpoint\":{\"host\":\"10.0.0.1;reboot\",\"port\":80},\"offering\":{\"service\":\"wiki\","
            + "\"version\":\"2.1\",\"environment\":{\"os\":\"debian-12\",\"server\":\"nginx-1.22\","
            + "\"runtime\":\"php-8.2\"},\"securityLevel\":\"standard\"}}";

    private static final List<Call> CALLS = List.of(
            new Call("GET", "/api/v1/catalog/offerings", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/catalog/components", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/catalog/rules", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/vms", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/vms/sf-000000000000", null, Need.VIEWER, 404),
            new Call("GET", "/api/v1/hosts", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/hosts/alpha", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/natives", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/natives/no-such-native", null, Need.VIEWER, 404),
            // a native service at an address that could reach a shell: refused, nothing saved
            new Call("POST", "/api/v1/natives", NATIVE_AT_A_HOSTILE_ADDRESS, Need.ADMIN, 400),
            new Call("DELETE", "/api/v1/natives/no-such-native", null, Need.ADMIN, 404),
            new Call("POST", "/api/v1/requests", NEVER_REQUEST, Need.OPERATOR, 404),
            // explains what it would do, doing nothing: 200 with the NEVER it would answer
            new Call("POST", "/api/v1/requests?explain=true", NEVER_REQUEST, Need.OPERATOR, 200),
            // a VM's lifecycle moves, on a VM that does not exist (nothing changes), and bad input
            new Call("POST", "/api/v1/vms/sf-000000000000/sleep", null, Need.OPERATOR, 404),
            new Call("POST", "/api/v1/vms/sf-000000000000/archive?tier=COMPRESSED", null, Need.OPERATOR, 404),
            new Call("POST", "/api/v1/vms/sf-000000000000/archive?tier=gold", null, Need.OPERATOR, 400),
            new Call("POST", "/api/v1/vms/sf-000000000000/wake", null, Need.OPERATOR, 404),
            new Call("POST", "/api/v1/vms/sf-000000000000/migrate?host=beta", null, Need.OPERATOR, 404),
            new Call("POST", "/api/v1/vms/sf-000000000000/migrate?host=no%20such", null, Need.OPERATOR, 400),
            new Call("DELETE", "/api/v1/vms/sf-000000000000", null, Need.OPERATOR, 404),
            new Call("POST", "/api/v1/hosts/no-such-host/drain", null, Need.ADMIN, 404),
            new Call("DELETE", "/api/v1/hosts/no-such-host/drain", null, Need.ADMIN, 404),
            new Call("POST", "/api/v1/hosts/no-such-host/connect", null, Need.ADMIN, 404),
            new Call("POST", "/api/v1/hosts", HOST_OF_NO_DRIVER, Need.ADMIN, 400),
            new Call("DELETE", "/api/v1/hosts/no-such-host", null, Need.ADMIN, 404),
            new Call("GET", "/api/v1/images", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/images/000000000000000000000000", null, Need.VIEWER, 404),
            // a build for a combination that is never viable: nothing is built
            new Call("POST", "/api/v1/images", NEVER_REQUEST, Need.OPERATOR, 404),
            new Call("GET", "/api/v1/components", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/popularity", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/keepalive", null, Need.VIEWER, 200),
            new Call("GET", "/metrics", null, Need.VIEWER, 200),
            // the dashboard's feed; follow=false ends the stream after its snapshot
            new Call("GET", "/events?follow=false", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/status", null, Need.VIEWER, 200),
            new Call("GET", "/api/v1/openapi.json", null, Need.VIEWER, 200),
            // the audit trail names who asked for what: operators only
            new Call("GET", "/api/v1/audit?limit=5", null, Need.OPERATOR, 200),
            // The finding: DELETE /api/v1/hosts;x/alpha by an operator removed alpha. An admin would
            // really remove it, so this call is tried by the others only.
            new Call("DELETE", "/api/v1/hosts/alpha", null, Need.ADMIN, -1));

    /** Spellings of a path that a client may send; each must be checked against the same role as the plain one. */
    private static final Map<String, UnaryOperator<String>> SPELLINGS = spellings();

    private static Map<String, UnaryOperator<String>> spellings() {
        Map<String, UnaryOperator<String>> spellings = new LinkedHashMap<>();
        spellings.put("plain", p -> p);
        spellings.put("matrix parameter on the resource segment", p -> onResource(p, s -> s + ";x=1"));
        spellings.put("bare matrix parameter on the resource segment", p -> onResource(p, s -> s + ";x"));
        spellings.put("matrix parameter on the last segment", p -> p + ";x=1");
        spellings.put("matrix parameter on the base", p -> p.replace("/api/v1/", "/api;x=1/v1;y/"));
        spellings.put("percent-encoded letter", p -> onResource(p, s -> "%" + Integer.toHexString(s.charAt(0)) + s.substring(1)));
        spellings.put("percent-encoded slash", p -> p.replace("/api/v1/", "/api/v1%2F"));
        spellings.put("double slash", p -> p.replace("/api/v1/", "/api/v1//"));
        spellings.put("trailing slash", p -> p + "/");
        spellings.put("dot segment", p -> p.replace("/api/v1/", "/api/v1/./"));
        spellings.put("dot-dot segment", p -> p.replace("/api/v1/", "/api/v1/x/../"));
        spellings.put("encoded dot-dot segment", p -> p.replace("/api/v1/", "/api/v1/x/%2e%2e/"));
        spellings.put("upper-case resource", p -> onResource(p, s -> s.toUpperCase(Locale.ROOT)));
        spellings.put("upper-case base", p -> p.replace("/api/v1/", "/API/V1/"));
        return spellings;
    }

    /** Applies {@code change} to the first segment after /api/v1/ (e.g. hosts), or after / outside the API (metrics). */
    private static String onResource(String path, UnaryOperator<String> change) {
        String prefix = path.startsWith("/api/v1/") ? "/api/v1/" : "/";
        String rest = path.substring(prefix.length());
        int slash = rest.indexOf('/');
        String segment = slash < 0 ? rest : rest.substring(0, slash);
        return prefix + change.apply(segment) + (slash < 0 ? "" : rest.substring(slash));
    }

    private static final Map<String, Login> LOGINS = logins();

    private static Map<String, Login> logins() {
        Map<String, Login> logins = new LinkedHashMap<>();
        logins.put("anonymous", Login.NONE);
        logins.put("wrong password", WRONG_PASSWORD);
        logins.put("viewer", Login.VIEWER);
        logins.put("operator", Login.OPERATOR);
        logins.put("admin", Login.ADMIN);
        return logins;
    }

    private static boolean has(String login, Need need) {
        return switch (login) {
            case "admin" -> true;
            case "operator" -> need != Need.ADMIN;
            case "viewer" -> need == Need.VIEWER;
            default -> false;
        };
    }

    @Test
    public void a_everyMethodUnderEveryLoginAndPathSpellingChecksTheMethodsRole() throws Exception {
        // Wrong passwords are part of the matrix: keep throttling out of its way here (tested on its own below).
        setRestProperties(Map.of("throttleUserAddressFailures", 1_000_000, "throttleAddressFailures", 1_000_000,
                "throttleUserFailures", 1_000_000));
        Snapshot before = snapshot();
        AtomicInteger cells = new AtomicInteger();
        // every call and spelling on its own, four at once: each is refused or changes nothing, so their order does
        // not matter (about 2,600 requests: 152 s one at a time, 48 s so)
        ExecutorService matrix = Executors.newFixedThreadPool(MATRIX_THREADS);
        List<Future<List<String>>> judged = new ArrayList<>();
        try {
            for (Call call : CALLS) {
                for (Map.Entry<String, UnaryOperator<String>> spelling : SPELLINGS.entrySet()) {
                    judged.add(matrix.submit(() -> cell(call, spelling.getKey(), spelling.getValue(), cells)));
                }
            }
            List<String> violations = new ArrayList<>();
            for (Future<List<String>> cell : judged) {
                violations.addAll(cell.get(2, TimeUnit.MINUTES));
            }
            assertTrue(violations.size() + " of " + cells + " cells are wrong:\n" + String.join("\n", violations),
                    violations.isEmpty());
        } finally {
            matrix.shutdownNow();
        }
        assertEquals("refused calls changed nothing", before, snapshot());
    }

    private static final int MATRIX_THREADS = 4;

    /** One call in one spelling under every login: what is wrong in its answers. */
    private List<String> cell(Call call, String spellingName, UnaryOperator<String> spelling, AtomicInteger cells) {
        // a spelling changes the path; the query string stays as it is
        int query = call.path().indexOf('?');
        String path = query < 0 ? spelling.apply(call.path())
                : spelling.apply(call.path().substring(0, query)) + call.path().substring(query);
        Map<String, Answer> answers = new LinkedHashMap<>();
        for (Map.Entry<String, Login> login : LOGINS.entrySet()) {
            if (login.getKey().equals("admin") && call.allowedStatus() < 0) {
                continue;
            }
            answers.put(login.getKey(), Answer.of(client.send(call.method(), path, call.body(), login.getValue())));
            cells.incrementAndGet();
        }
        List<String> violations = new ArrayList<>();
        judge(call, call + " spelled " + spellingName + " (" + path + ")", answers, violations);
        return violations;
    }

    /** A response reduced to what the matrix judges. */
    record Answer(int status, String problemType, String body) {
        static Answer of(HttpResponse<String> response) {
            String type = null;
            if (response.headers().firstValue("Content-Type").orElse("").startsWith(PROBLEM_JSON)) {
                type = FarmClient.json(response).path("type").asText();
            }
            return new Answer(response.statusCode(), type, response.body());
        }

        /** The server refused the spelling itself, before any application code (e.g. Jetty's 400 for an ambiguous path). */
        boolean rejectedByServer() {
            return status == 400 && problemType == null;
        }

        /** No resource method matched: the JAX-RS runtime's own 404 or 405. */
        boolean unmatched() {
            return (status == 404 || status == 405) && problemType != null && problemType.contains("http-");
        }

        @Override
        public String toString() {
            return status + (problemType == null ? "" : " " + problemType);
        }
    }

    private static void judge(Call call, String where, Map<String, Answer> answers, List<String> violations) {
        if (answers.values().stream().anyMatch(Answer::rejectedByServer)) {
            // refused before the application: then it must be refused so for everyone
            if (!answers.values().stream().allMatch(Answer::rejectedByServer)) {
                violations.add(where + ": refused by the server for some logins only: " + answers);
            }
            return;
        }
        for (String login : List.of("anonymous", "wrong password")) {
            if (answers.get(login).status() != 401) {
                violations.add(where + ": " + login + " got " + answers.get(login) + ", not 401");
            }
        }
        List<Answer> loggedIn = answers.entrySet().stream().filter(e -> !e.getKey().equals("anonymous")
                && !e.getKey().equals("wrong password")).map(Map.Entry::getValue).toList();
        boolean unmatched = loggedIn.stream().anyMatch(Answer::unmatched);
        if (unmatched) {
            if (!loggedIn.stream().allMatch(Answer::unmatched)) {
                violations.add(where + ": matched for some logins only: " + answers);
            }
            return;
        }
        for (Map.Entry<String, Answer> entry : answers.entrySet()) {
            String login = entry.getKey();
            Answer answer = entry.getValue();
            if (login.equals("anonymous") || login.equals("wrong password")) {
                continue;
            }
            if (!has(login, call.need())) {
                if (answer.status() != 403) {
                    violations.add(where + ": " + login + " lacks role " + call.need() + " but got " + answer);
                }
            } else if (answer.status() != call.allowedStatus()) {
                violations.add(where + ": " + login + " got " + answer + ", expected " + call.allowedStatus());
            }
        }
    }

    // --- hostile host registrations --------------------------------------------------------------

    /** A registration that would be accepted, changed in one place by each hostile case. */
    private ObjectNode goodHost(String name) {
        ObjectNode host = FarmClient.JSON.createObjectNode();
        host.put("name", name);
        host.put("driver", "libvirt");
        host.put("uri", "test://" + Path.of(System.getProperty("karaf.etc"), "servicefarm", "hosts", "beta.xml"));
        ObjectNode capacity = host.putObject("capacity");
        capacity.put("vcpus", 2);
        capacity.put("memoryMiB", 2048);
        capacity.put("vms", 2);
        host.put("costPerHour", 0.5);
        host.putObject("properties").put("portRange", "24000-24099");
        return host;
    }

    record Hostile(String what, ObjectNode body, int status, String field) {
    }

    @Test
    public void b_hostileHostRegistrationsAreRefusedAndNothingIsKeptOrConnected() throws Exception {
        Path marker = Files.createTempFile("servicefarm-pwned", ".txt");
        Files.delete(marker);
        Path script = Files.createTempFile("servicefarm-command", ".sh");
        Files.writeString(script, "#!/bin/sh\ntouch " + marker + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        String etcHosts = Path.of(System.getProperty("karaf.etc"), "servicefarm", "hosts").toString();

        List<Hostile> cases = new ArrayList<>();
        cases.add(uri("runs a local program", "qemu+ssh://nobody@localhost/system?command=" + script));
        cases.add(uri("runs a local program on a remote name", "qemu+ssh://farm.example/system?command=" + script));
        cases.add(uri("names a local socket", "qemu+unix:///system?socket=/tmp/evil.sock"));
        cases.add(uri("reads a key file", "qemu+ssh://farm.example/system?keyfile=/etc/shadow"));
        cases.add(uri("runs netcat", "qemu+ssh://farm.example/system?netcat=/bin/sh"));
        cases.add(uri("reads known hosts", "qemu+ssh://farm.example/system?known_hosts=/etc/shadow"));
        cases.add(uri("carries a password", "qemu+ssh://root:secret@farm.example/system"));
        cases.add(uri("reaches the appliance's own machine by loopback", "qemu+ssh://127.0.0.2/system"));
        cases.add(uri("reaches the appliance's own machine by name", "qemu+tls://localhost/system"));
        cases.add(uri("reaches the appliance's own machine by IPv6 loopback", "qemu+tls://[::1]/system"));
        cases.add(uri("reads /etc/shadow", "test:///etc/shadow"));
        cases.add(uri("reads the process environment", "test:///proc/self/environ"));
        cases.add(uri("climbs out of the root", "test:///../../etc/passwd"));
        cases.add(uri("climbs out of the node directory", "test://" + etcHosts + "/../../../../etc/passwd"));
        cases.add(uri("climbs out encoded", "test://" + etcHosts + "/%2e%2e/%2e%2e/users.properties"));
        cases.add(uri("reads a file by file:", "file:///etc/passwd"));
        cases.add(uri("names another scheme", "vmware://farm.example/"));
        cases.add(uri("carries a NUL byte", "test:///default\u0000.xml"));
        cases.add(uri("carries a line break", "test:///default\nFORGED LOG LINE"));
        ObjectNode vmware = goodHost("vmwarehost");
        vmware.put("driver", "vmware");
        cases.add(new Hostile("names a driver that is not installed", vmware, 400, "driver"));
        cases.add(property("a negative boot time", "bootTimeMs", "-1"));
        cases.add(property("a port range beyond 65535", "portRange", "0-70000"));
        cases.add(property("a port range backwards", "portRange", "24099-24000"));
        cases.add(property("an endpoint host with a shell metacharacter", "endpointHost", "a;id"));
        cases.add(property("an unknown driver property", "evil", "1"));
        ObjectNode empty = goodHost("emptyhost");
        ((ObjectNode) empty.get("capacity")).put("vcpus", 0).put("memoryMiB", 0).put("vms", 0);
        cases.add(new Hostile("no capacity", empty, 400, "capacity"));
        ObjectNode costly = goodHost("costlyhost");
        costly.put("costPerHour", 1e308);
        cases.add(new Hostile("an absurd cost", costly, 400, "costPerHour"));
        ObjectNode hostileName = goodHost("x");
        hostileName.put("name", "<x>'&;id");
        cases.add(new Hostile("a hostile name", hostileName, 400, "name"));
        cases.add(new Hostile("a name differing from alpha only in case", goodHost("ALPHA"), 409, null));

        Snapshot before = snapshot();
        List<String> violations = new ArrayList<>();
        for (Hostile hostile : cases) {
            HttpResponse<String> response = client.post("/api/v1/hosts", hostile.body().toString(), Login.ADMIN);
            String where = hostile.what() + " (" + hostile.body() + ")";
            if (response.statusCode() != hostile.status()) {
                violations.add(where + ": " + response.statusCode() + " " + response.body());
                continue;
            }
            JsonNode problem = FarmClient.json(response);
            if (hostile.field() != null && !problem.path("field").asText().startsWith(hostile.field())) {
                violations.add(where + ": the problem names field '" + problem.path("field").asText() + "', not "
                        + hostile.field() + ": " + response.body());
            }
            assertSpeaksTheContract(response);
        }
        assertTrue(violations.size() + " of " + cases.size() + " hostile registrations were not refused as expected:\n"
                + String.join("\n", violations), violations.isEmpty());
        Thread.sleep(500); // a command libvirt ran would have touched the marker by now
        assertFalse("libvirt ran the host URI's command", Files.exists(marker));
        assertEquals("no hostile registration was kept or connected", before, snapshot());
        String hosts = client.get("/api/v1/hosts", Login.VIEWER).body();
        assertFalse("no file content reaches a host's detail: " + hosts, hosts.contains("root:"));
    }

    private Hostile uri(String what, String uri) {
        ObjectNode body = goodHost("urihost");
        body.put("uri", uri);
        return new Hostile("a URI that " + what, body, 400, "uri");
    }

    private Hostile property(String what, String key, String value) {
        ObjectNode body = goodHost("prophost");
        ((ObjectNode) body.get("properties")).put(key, value);
        return new Hostile(what, body, 400, "properties." + key);
    }

    // --- bodies speak the contract -----------------------------------------------------------------

    @Test
    public void c_errorBodiesSpeakTheContractAndDoNotEchoInputAtLength() throws Exception {
        String huge = "w".repeat(60_000);
        HttpResponse<String> longName = client.post("/api/v1/requests", "{\"service\":\"" + huge + "\"}", Login.ADMIN);
        assertEquals(longName.body(), 400, longName.statusCode());
        assertTrue("a 60 KB name is not echoed: " + longName.body().length() + " bytes",
                longName.body().length() < 1000);
        assertEquals("service", FarmClient.json(longName).path("field").asText());

        for (String body : List.of("{\"service\":", "[\"wiki\"]", "{\"service\":\"wiki\"} {}",
                "{\"service\":\"wiki\",\"deadlineMs\":\"100\"}", "{\"service\":\"wiki\",\"deadlineMs\":1.5}",
                "{\"service\":42}", "{\"service\":\"wiki\",\"colour\":\"red\"}",
                "{\"service\":\"wiki\",\"service\":\"blog\"}", "{\"service\":\"wiki\",\"environment\":\"debian\"}")) {
            HttpResponse<String> response = client.post("/api/v1/requests", body, Login.ADMIN);
            assertEquals(body + " -> " + response.body(), 400, response.statusCode());
            assertSpeaksTheContract(response);
        }
        HttpResponse<String> unknownField = client.post("/api/v1/requests", "{\"service\":\"wiki\",\"colour\":\"red\"}",
                Login.ADMIN);
        assertEquals("colour", FarmClient.json(unknownField).path("field").asText());

        HttpResponse<String> longVm = client.get("/api/v1/vms/" + "v".repeat(5000), Login.VIEWER);
        assertTrue(longVm.statusCode() + " " + longVm.body().length(), longVm.statusCode() == 404
                || longVm.statusCode() == 414 || longVm.statusCode() == 400);
        assertTrue("a long path parameter is not echoed whole", longVm.body().length() < 1000);
    }

    private static void assertSpeaksTheContract(HttpResponse<String> response) {
        assertTrue(response.body(), response.headers().firstValue("Content-Type").orElse("").startsWith(PROBLEM_JSON));
        String body = response.body();
        for (String internal : List.of("com.fasterxml", "jackson", "Jackson", "DeserializationFeature", "java.",
                "javax.", "org.apache", "Exception", "JsonNode")) {
            assertFalse("the problem names a library internal (" + internal + "): " + body, body.contains(internal));
        }
    }

    // --- framework listings ------------------------------------------------------------------------

    @Test
    public void d_frameworkListingsAreClosed() {
        List<String> paths = List.of("/cxf/services", "/cxf/services/", "/cxf/", "/cxf", "/api/v1/hosts?_wadl",
                "/api/v1?_wadl", "/api/v1/?_wadl", "/api/v1/catalog/rules?_wadl&_type=xml", "/api/v1/vms?_wadl",
                "/services", "/api/v1/openapi.json?_wadl");
        for (String path : paths) {
            HttpResponse<String> anonymous = client.get(path, Login.NONE);
            assertTrue(path + " answers an anonymous client " + anonymous.statusCode() + ": " + anonymous.body(),
                    anonymous.statusCode() == 401 || anonymous.statusCode() == 404);
            assertNoListing(path, anonymous);
            HttpResponse<String> admin = client.get(path, Login.ADMIN);
            assertNoListing(path, admin);
        }
        for (Login login : Arrays.asList(Login.NONE, Login.ADMIN)) {
            HttpResponse<String> options = client.send("OPTIONS", "/api/v1/hosts", null, login);
            assertNoListing("OPTIONS /api/v1/hosts", options);
            if (login == Login.NONE) {
                assertEquals("OPTIONS needs a login too", 401, options.statusCode());
            }
        }
    }

    private static void assertNoListing(String what, HttpResponse<String> response) {
        String body = response.body().toLowerCase(Locale.ROOT);
        for (String listing : List.of("<application", "wadl", "available restful services", "available soap services",
                "/api/v1/hosts</", "endpoint address")) {
            assertFalse(what + " lists the API (" + listing + "): " + response.body(), body.contains(listing));
        }
    }

    // --- the shell over bin/client -------------------------------------------------------------------

    record Shell(int exit, String output) {
    }

    private static Shell client(String command) throws Exception {
        Path home = Path.of(System.getProperty("karaf.home"));
        ProcessBuilder builder = new ProcessBuilder("bin/client", "-u", "admin", "-p", "admin", "-a",
                System.getProperty(ApplianceOptions.SSH_PORT_PROPERTY), "-r", "3", "-d", "1", "-b")
                .directory(home.toFile()).redirectErrorStream(true);
        Process process = builder.start();
        process.getOutputStream().write((command + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("bin/client did not finish: " + command);
        }
        return new Shell(process.exitValue(), output);
    }

    @Test
    public void e_theShellReportsEveryErrorAndFails() throws Exception {
        Shell good = client("farm:hosts");
        assertEquals(good.output(), 0, good.exit());
        assertTrue(good.output(), good.output().contains("alpha"));

        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("farm:request --tier gold wiki", "tier");
        bad.put("farm:request --deadline -5 wiki", "deadline");
        bad.put("farm:request --os 'a;id' wiki", "--os");
        bad.put("farm:request wiki --tier gold", "options");
        bad.put("farm:offerings --limit 0", "limit");
        bad.put("farm:host-add --driver libvirt --uri test:///default --vcpus 1 --memory-mib 512 --vms 1 '<x>'",
                "Invalid argument NAME");
        bad.put("farm:host-remove 'a;id'", "is not a host name");
        bad.put("farm:vm nosuch", "no VM with id nosuch");
        bad.put("farm:metrics nosuch", "no metric named nosuch");
        bad.put("farm:vms --state running", "Invalid option --state: unknown VM state 'running'");
        bad.put("farm:archive --tier frozen nosuch", "Invalid option --tier: unknown archive tier 'frozen'");
        for (Map.Entry<String, String> entry : bad.entrySet()) {
            Shell shell = client(entry.getKey());
            assertNotEquals(entry.getKey() + " exits non-zero: " + shell.output(), 0, shell.exit());
            assertTrue(entry.getKey() + " says what is wrong (" + entry.getValue() + "): " + shell.output(),
                    shell.output().contains(entry.getValue()));
        }
    }

    /**
     * farm:request over bin/client tells its answer by the exit status, so that a script need not parse the text:
     * 69 (EX_UNAVAILABLE) for NEVER, 75 (EX_TEMPFAIL) for RETRY_LATER, then 0 once its retry is GRANTED.
     */
    @Test
    public void ea_farmRequestsExitStatusTellsItsAnswer() throws Exception {
        Shell never = client("farm:request --os windows-2022 wiki");
        assertEquals(never.output(), 69, never.exit());
        assertTrue(never.output(), never.output().contains("NEVER wiki"));

        Shell later = client("farm:request --deadline 0 wiki"); // nothing of this appliance serves wiki yet
        assertEquals(later.output(), 75, later.exit());
        Matcher ticket = Pattern.compile("--retry-ticket (\\S+)").matcher(later.output());
        assertTrue(later.output(), later.output().contains("RETRY_LATER wiki") && ticket.find());
        Instant deadline = Instant.now().plusSeconds(120);
        Shell retry;
        do {
            FarmClient.pause(1000);
            retry = client("farm:request --retry-ticket " + ticket.group(1) + " wiki");
        } while (retry.exit() == 75 && Instant.now().isBefore(deadline));
        assertEquals(retry.output(), 0, retry.exit());
        assertTrue(retry.output(), retry.output().contains("GRANTED wiki at "));
    }

    // --- log injection -------------------------------------------------------------------------------

    @Test
    public void f_controlCharactersNeverReachTheLogRaw() throws Exception {
        String mark = "servicefarm-log-check-" + System.nanoTime();
        Logger log = LoggerFactory.getLogger(SecurityIT.class);
        log.error("{} a\u0000b\u001b[31mred\r\nFORGED {} line", mark, mark);
        Path file = Path.of(System.getProperty("karaf.log", System.getProperty("karaf.data") + "/log"), "karaf.log");
        Instant deadline = Instant.now().plusSeconds(10);
        String line = null;
        while (line == null && Instant.now().isBefore(deadline)) {
            line = Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> l.contains(mark))
                    .findFirst().orElse(null);
            if (line == null) {
                FarmClient.pause(100);
            }
        }
        assertTrue("the message reached " + file, line != null);
        String log4 = Files.readString(file, StandardCharsets.UTF_8);
        assertFalse("no raw NUL in the log", log4.contains("\u0000"));
        assertFalse("no raw escape in the log", log4.contains("\u001b[31m"));
        assertFalse("no forged line", log4.lines().anyMatch(l -> l.startsWith("FORGED " + mark)));
    }

    // --- throttling (runs last: it leaves throttling on) -------------------------------------------

    @Test
    public void z_failedLoginsAreThrottledAndReleasedWithoutHurtingLoggedInUsers() throws Exception {
        setRestProperties(Map.of("throttleUserAddressFailures", 3, "throttleAddressFailures", 20,
                "throttleUserFailures", 50, "throttleWindowSeconds", 60, "throttleFirstDelaySeconds", 1,
                "throttleMaxDelaySeconds", 2));
        // the viewer logs in now: a successful login is remembered and stays unaffected
        assertEquals(200, client.get("/api/v1/hosts", Login.VIEWER).statusCode());

        Login wrongViewer = new Login("viewer", "guess");
        int throttledAfter = -1;
        for (int attempt = 1; attempt <= 10; attempt++) {
            HttpResponse<String> response = client.get("/api/v1/hosts", wrongViewer);
            if (response.statusCode() == 429) {
                throttledAfter = attempt;
                long retryAfter = Long.parseLong(response.headers().firstValue("Retry-After").orElse("0"));
                assertTrue("429 says when to retry: " + response.headers().map(), retryAfter >= 1);
                assertSpeaksTheContract(response);
                break;
            }
            assertEquals(response.body(), 401, response.statusCode());
        }
        assertEquals("the 4th failure in the window is throttled", 4, throttledAfter);
        assertEquals("while throttled, no password of that user is checked", 429,
                client.get("/api/v1/hosts", wrongViewer).statusCode());
        assertEquals("while throttled, the viewer's remembered login still works", 200,
                client.get("/api/v1/hosts", Login.VIEWER).statusCode());
        assertEquals("another user at the same address is not locked out", 200,
                client.get("/api/v1/hosts", Login.ADMIN).statusCode());

        // released after the back-off (capped at 2 s here): the password is checked again
        FarmClient.pause(2_100);
        HttpResponse<String> released = client.get("/api/v1/hosts", wrongViewer);
        assertEquals("after the back-off the password is checked again: " + released.body(), 401,
                released.statusCode());
    }

    // --- helpers -------------------------------------------------------------------------------------

    /** What a refused call must not change: the hosts, their saved configurations, the VMs. */
    record Snapshot(Set<String> hosts, Set<String> hostConfigurations, int vms, int images) {
    }

    private Snapshot snapshot() throws Exception {
        Set<String> hosts = new TreeSet<>(FarmClient.json(client.get("/api/v1/hosts", Login.ADMIN)).path("hosts")
                .findValuesAsText("name"));
        Set<String> configurations = new TreeSet<>();
        org.osgi.service.cm.Configuration[] saved = configurationAdmin.listConfigurations(
                "(service.factoryPid=org.servicefarm.host)");
        for (org.osgi.service.cm.Configuration configuration : saved == null
                ? new org.osgi.service.cm.Configuration[0] : saved) {
            configurations.add(String.valueOf(configuration.getProperties().get("name")));
        }
        int vms = FarmClient.json(client.get("/api/v1/vms", Login.ADMIN)).path("vms").size();
        int images = FarmClient.json(client.get("/api/v1/images", Login.ADMIN)).path("images").size();
        return new Snapshot(hosts, configurations, vms, images);
    }

    private void setRestProperties(Map<String, Object> values) throws IOException {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(REST_PID, "?");
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        for (Map.Entry<String, Object> entry : values.entrySet()) {
            properties.put(entry.getKey(), entry.getValue());
        }
        configuration.update(properties);
        // the login filter is re-created with the new configuration: wait until it answers again
        FarmClient.pause(1000);
        client.awaitReady(READY);
    }
}
