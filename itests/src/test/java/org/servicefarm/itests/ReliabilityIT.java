package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The assembled appliance attacked as its clients' mistakes and its crowds would (booted once for this class, the
 * embedded default): REST bodies fuzzed from a fixed seed, a stampede of clients on a few cold offerings at once, and
 * the request path's plug-ins stopped and started under load. What a user must see: no 5xx, every refusal a
 * problem+json body, nothing changed by a refused call, nothing logged above INFO for a client's mistake (an operator
 * who alerts on WARN must not be paged for it), exactly one VM per offering however many clients asked at the same
 * moment, and a grant or a RETRY_LATER for every request while a plug-in is away.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ReliabilityIT extends BootedAppliance {

    private static final String PROBLEM_JSON = "application/problem+json";
    /** The seed of the fuzz: a failure names it, and the same calls are made again. */
    private static final long SEED = 20261127L;
    private static final int FUZZED_CALLS = 500;
    /** No VM or host of these names exists: a move on them may only be refused. */
    private static final List<String> POSTS = List.of("/api/v1/requests", "/api/v1/hosts", "/api/v1/images",
            "/api/v1/hosts/nohost/drain", "/api/v1/vms/sf-000000000000/sleep", "/api/v1/vms/sf-000000000000/archive",
            "/api/v1/vms/sf-000000000000/wake", "/api/v1/vms/sf-000000000000/migrate", "/api/v1/natives");
    private static final Map<String, List<String>> FIELDS = Map.of(
            "/api/v1/requests", List.of("service", "version", "environment", "securityLevel", "tier", "deadlineMs",
                    "retryTicket"),
            "/api/v1/images", List.of("service", "version", "environment", "securityLevel", "tier"),
            "/api/v1/hosts", List.of("name", "driver", "uri", "capacity", "costPerHour", "securityZone", "properties"),
            "/api/v1/natives", List.of("name", "host", "endpoint", "securityZone", "offering"));
    /** Values a careless or hostile client sends: markup, shell, traversal, NUL, huge, out of range, wrong types. */
    private static final List<Object> VALUES = List.of("", " ", "a".repeat(5000), "../../etc/passwd", "x'; rm -rf /",
            "<domain type='kvm'>", "]]>&amp;", "\u0000", "名前", "$(id)", "`id`", "-1", "1e309", "null", "%00", "\n\t",
            "a b", "A".repeat(300), "test:///default", "qemu+ssh://root@10.0.0.1/system", 0, -1, Long.MAX_VALUE,
            1.5, 1e308, true, List.of(), List.of("x"), Map.of(), Map.of("a", 1), Map.of("os", "../x", "patches", "p"),
            Map.of("vcpus", -1, "memoryMiB", "lots", "vms", 1e9));
    private static final List<byte[]> RAW = List.of("{".getBytes(), "[1,2".getBytes(), new byte[] {(byte) 0xff,
            (byte) 0xfe, 0}, "nul".getBytes(), "{}".repeat(1000).getBytes(),
            ("{\"service\":" + "[".repeat(5000) + "]".repeat(5000) + "}").getBytes(), new byte[0], "\"str\"".getBytes(),
            "123".getBytes(), "[]".getBytes(), "<request><service>wiki</service></request>".getBytes(),
            "service=wiki&os=debian-12".getBytes());
    private static final List<String> CONTENT_TYPES = java.util.Arrays.asList("application/json", "text/plain", null,
            "application/xml", "application/x-www-form-urlencoded", "application/json; charset=latin-1");

    @Test
    public void a_fuzzedBodiesAreRefusedAsProblemsChangeNothingAndLogNothingAboveInfo() throws Exception {
        String before = farmState();
        long logSize = Files.size(log());
        Random random = new Random(SEED);
        List<String> wrong = new ArrayList<>();
        Map<Integer, Integer> statuses = new TreeMap<>();
        for (int i = 0; i < FUZZED_CALLS; i++) {
            String path = POSTS.get(random.nextInt(POSTS.size()));
            String sent;
            HttpResponse<String> answer;
            if (random.nextInt(100) < 20) {
                byte[] raw = RAW.get(random.nextInt(RAW.size()));
                String type = CONTENT_TYPES.get(random.nextInt(CONTENT_TYPES.size()));
                sent = (type == null ? "no type" : type) + ", " + raw.length + " bytes";
                answer = client.sendBytes("POST", path, raw, type, Login.ADMIN);
            } else {
                ObjectNode body = FarmClient.JSON.createObjectNode();
                List<String> fields = FIELDS.getOrDefault(path, List.of("host", "tier", "to"));
                for (String field : fields) {
                    if (random.nextBoolean()) {
                        body.set(field, FarmClient.JSON.valueToTree(VALUES.get(random.nextInt(VALUES.size()))));
                    }
                }
                if (random.nextInt(100) < 20) { // a field no API knows
                    body.set("unknown" + random.nextInt(3), FarmClient.JSON.valueToTree(
                            VALUES.get(random.nextInt(VALUES.size()))));
                }
                sent = excerpt(body.toString());
                answer = client.post(path, body.toString(), Login.ADMIN);
            }
            statuses.merge(answer.statusCode(), 1, Integer::sum);
            String problem = misanswered(answer);
            if (problem != null) {
                wrong.add("call " + i + ": POST " + path + " with " + sent + ": " + problem);
            }
        }
        // paths and queries a client gets wrong
        for (String path : List.of("/api/v1/vms/%2e%2e", "/api/v1/vms/abc", "/api/v1/vms/-1",
                "/api/v1/vms/99999999999999999999", "/api/v1/hosts/%3Cx%3E", "/api/v1/hosts/" + "a".repeat(3000),
                "/api/v1/images/zz", "/api/v1/vms?limit=-1", "/api/v1/vms?limit=1e9", "/api/v1/audit?since=yesterday",
                "/api/v1/vms?state=FOO", "/api/v1/vms?after=%ff")) {
            for (String method : List.of("GET", "DELETE")) {
                HttpResponse<String> answer = client.send(method, path, null, Login.ADMIN);
                statuses.merge(answer.statusCode(), 1, Integer::sum);
                String problem = answer.statusCode() == 200 && method.equals("GET") ? null : misanswered(answer);
                if (problem != null) {
                    wrong.add(method + " " + excerpt(path) + ": " + problem);
                }
            }
        }
        System.out.println("ReliabilityIT: fuzz of seed " + SEED + ", answers by status: " + statuses);
        assertTrue("seed " + SEED + ": " + wrong.size() + " wrong answers:\n" + String.join("\n", wrong.subList(0,
                Math.min(20, wrong.size()))), wrong.isEmpty());
        assertEquals("the refused calls changed nothing", before, farmState());
        List<String> logged = logProblemsAfter(logSize);
        assertTrue("a client's mistakes are no operator's warnings:\n" + String.join("\n", logged.subList(0,
                Math.min(20, logged.size()))), logged.isEmpty());
    }

    /** What is wrong with an answer to a call that must be refused, or null when it is a proper refusal. */
    private static String misanswered(HttpResponse<String> answer) {
        int status = answer.statusCode();
        if (status < 400 || status >= 500) {
            return "answered " + status + ", not a refusal: " + excerpt(answer.body());
        }
        String type = answer.headers().firstValue("Content-Type").orElse("");
        if (!type.startsWith(PROBLEM_JSON)) {
            return status + " as " + type + ", not " + PROBLEM_JSON + ": " + excerpt(answer.body());
        }
        JsonNode problem = FarmClient.json(answer);
        if (problem.path("status").asInt() != status || problem.path("title").asText().isEmpty()) {
            return status + " with a problem that does not say it: " + excerpt(answer.body());
        }
        return null;
    }

    /**
     * 48 clients at once, each asking 10 times for one of four cold offerings: every answer is a grant or a
     * RETRY_LATER, and each offering gets exactly one VM (the first request's creation, which the others join).
     */
    @Test
    public void b_aStampedeOnColdOfferingsBuildsOneVmEachAndAnswersEveryone() throws Exception {
        List<String> bodies = offerings(20, 24); // the fuzz asked for none of these
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(48);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < 48; c++) {
                String body = bodies.get(c % bodies.size());
                done.add(clients.submit(() -> {
                    for (int r = 0; r < 10; r++) {
                        HttpResponse<String> answer = client.post("/api/v1/requests", body, Login.OPERATOR);
                        statuses.computeIfAbsent(answer.statusCode(), s -> new AtomicInteger()).incrementAndGet();
                        if (answer.statusCode() != 200 && answer.statusCode() != 503) {
                            wrong.add(answer.statusCode() + ": " + excerpt(answer.body()));
                        }
                    }
                }));
            }
            for (Future<?> each : done) {
                each.get();
            }
        } finally {
            clients.shutdownNow();
        }
        System.out.println("ReliabilityIT: stampede of 480 requests, answers by status: " + statuses);
        assertTrue(wrong.toString(), wrong.isEmpty());
        Set<String> granted = new TreeSet<>();
        for (String body : bodies) {
            granted.add(client.requestUntilGranted(body, READY).vmId());
        }
        assertEquals("one VM per offering", bodies.size(), granted.size());
        int occupying = 0;
        for (JsonNode vm : FarmClient.json(client.get("/api/v1/vms?limit=1000", Login.VIEWER)).path("vms")) {
            String state = vm.path("state").asText();
            if (!state.equals("DESTROYED") && !state.equals("FAILED")) {
                occupying++;
                assertTrue("a VM no client was granted: " + vm, granted.contains(vm.path("id").asText()));
            }
        }
        assertEquals("exactly one VM per offering, however many asked at once", bodies.size(), occupying);
    }

    /**
     * The plug-ins of the request path stopped and started again, one after the other, while 8 clients ask for warm and
     * cold offerings: the keep-alive policy in force (the lifecycle goes with it; the keep-alive resource stays), the VM
     * and image eviction policies, the placement strategy, the reuse policy, and the DNS front end. Every answer is a
     * grant or a RETRY_LATER with its Retry-After, never a 500 or a 404, and once they are back every offering is
     * granted.
     */
    @Test
    public void c_pluginsStoppedAndStartedUnderLoadFailNoRequest() throws Exception {
        List<String> bodies = offerings(20, 28); // four warm (the stampede's), four cold
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
            int first = c;
            done.add(clients.submit(() -> {
                for (int r = first; running.get(); r++) {
                    HttpResponse<String> answer = client.post("/api/v1/requests", bodies.get(r % bodies.size()),
                            Login.OPERATOR);
                    statuses.computeIfAbsent(answer.statusCode(), s -> new AtomicInteger()).incrementAndGet();
                    boolean retryLater = answer.statusCode() == 503 && answer.headers().firstValue("Retry-After")
                            .isPresent() && "RETRY_LATER".equals(FarmClient.json(answer).path("outcome").asText());
                    if (answer.statusCode() != 200 && !retryLater) {
                        wrong.add(answer.statusCode() + ": " + excerpt(answer.body()));
                    }
                    FarmClient.pause(20);
                }
            }));
        }
        // metrics and web each bring a JAX-RS resource (/metrics, /events): the whiteboard rebuilds the application
        // they are in when they come or go, which blanked the whole API for a moment while it was that application
        List<String> plugins = List.of("org.servicefarm.keepalive-fixed", "org.servicefarm.eviction-lru",
                "org.servicefarm.eviction-gdsf", "org.servicefarm.placement-least-loaded",
                "org.servicefarm.reuse-default", "org.servicefarm.dns", "org.servicefarm.metrics",
                "org.servicefarm.web");
        try {
            for (String plugin : plugins) {
                org.osgi.framework.Bundle bundle = bundle(plugin);
                bundle.stop();
                FarmClient.pause(700); // requests go on without it
                bundle.start();
                FarmClient.pause(700);
            }
        } finally {
            running.set(false);
            clients.shutdown();
        }
        for (Future<?> each : done) {
            each.get();
        }
        System.out.println("ReliabilityIT: " + plugins.size() + " plug-ins stopped and started under load, answers by "
                + "status: " + statuses);
        assertTrue(wrong.size() + " wrong answers: " + wrong.subList(0, Math.min(10, wrong.size())), wrong.isEmpty());
        // requests in flight all along (about 100 to 220 answers here, as loaded as the machine is)
        assertTrue("a steady stream: " + statuses, statuses.values().stream().mapToInt(AtomicInteger::get).sum() > 30);
        for (String body : bodies) {
            client.requestUntilGranted(body, READY);
        }
    }

    /**
     * A VM whose saved state is damaged on its host's disk (libvirt cannot read it back): the request that would have
     * restored it is granted from a new VM, the damaged one rests on, and at its second failed wake in a row it is
     * given up: FAILED, its saved state removed from the host.
     */
    @Test
    public void d_aVmWhoseSavedStateIsDamagedGivesWayToANewOneAndIsGivenUpAtItsSecondFailedWake() throws Exception {
        // a deadline long enough for the restore, its failure and the creation after it: the grant tells which served
        String body = ((ObjectNode) FarmClient.JSON.readTree(offerings(28, 29).get(0))).put("deadlineMs", 60_000)
                .toString();
        FarmClient.Grant first = client.requestUntilGranted(body, READY);
        String damaged = first.vmId();
        HttpResponse<String> archived = client.post("/api/v1/vms/" + damaged + "/archive?tier=SAVED", "",
                Login.OPERATOR);
        assertEquals(archived.body(), 200, archived.statusCode());
        java.nio.file.Path saved = java.nio.file.Path.of(System.getProperty("karaf.data"), "servicefarm", "libvirt",
                first.hostId(), damaged + ".save");
        assertTrue("libvirt saved the VM to " + saved, Files.size(saved) > 0);
        Files.writeString(saved, "not a saved state: the disk under it failed\n");

        FarmClient.Grant instead = client.requestUntilGranted(body, READY);
        assertEquals(instead.body().toString(), "CREATED", instead.activation());
        assertTrue(instead.body().toString(), !instead.vmId().equals(damaged));
        JsonNode rests = vm(damaged);
        assertEquals(rests.toString(), "ARCHIVED", rests.path("state").asText());
        assertTrue(rests.toString(), rests.path("detail").asText().startsWith("restoring " + damaged + " on "
                + first.hostId() + " failed: "));
        System.out.println("ReliabilityIT: damaged saved state, first failed wake: " + rests.path("detail").asText());

        // the new VM goes: the next request wakes the damaged one again, its second failure in a row
        HttpResponse<String> destroyed = client.delete("/api/v1/vms/" + instead.vmId(), Login.OPERATOR);
        assertEquals(destroyed.body(), 200, destroyed.statusCode());
        FarmClient.Grant again = client.requestUntilGranted(body, READY);
        assertEquals(again.body().toString(), "CREATED", again.activation());
        JsonNode given = vm(damaged);
        assertEquals(given.toString(), "FAILED", given.path("state").asText());
        assertTrue(given.toString(), given.path("detail").asText().endsWith(
                "2 wakes in a row failed on a host that answers: the VM is given up"));
        assertTrue("its saved state removed from the host", !Files.exists(saved));
    }

    private JsonNode vm(String id) {
        return FarmClient.json(client.get("/api/v1/vms/" + id, Login.VIEWER));
    }

    /** The catalog's viable offerings {@code from} (inclusive) to {@code to} (exclusive), each as a request body. */
    private List<String> offerings(int from, int to) {
        JsonNode offerings = FarmClient.json(client.get("/api/v1/catalog/offerings?limit=" + to, Login.VIEWER))
                .path("offerings");
        List<String> bodies = new ArrayList<>();
        for (int i = from; i < to; i++) {
            bodies.add(offerings.get(i).toString());
        }
        return bodies;
    }

    /** The VMs (id and state), hosts (name and drain) and images (id) the farm has. */
    private String farmState() {
        StringBuilder state = new StringBuilder();
        for (JsonNode vm : FarmClient.json(client.get("/api/v1/vms?limit=1000", Login.VIEWER)).path("vms")) {
            state.append("vm ").append(vm.path("id").asText()).append(' ').append(vm.path("state").asText()).append('\n');
        }
        for (JsonNode host : FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts")) {
            state.append("host ").append(host.path("name").asText()).append(" drained ")
                    .append(host.path("drained").asText()).append('\n');
        }
        for (JsonNode image : FarmClient.json(client.get("/api/v1/images", Login.VIEWER)).path("images")) {
            state.append("image ").append(image.path("id").asText()).append('\n');
        }
        for (JsonNode service : FarmClient.json(client.get("/api/v1/natives", Login.VIEWER)).path("natives")) {
            state.append("native ").append(service.path("name").asText()).append('\n');
        }
        return state.toString();
    }

    private static String excerpt(String text) {
        String flat = text.replace('\n', ' ');
        return flat.length() <= 160 ? flat : flat.substring(0, 160) + "...";
    }
}
