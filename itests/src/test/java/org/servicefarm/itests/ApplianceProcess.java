package org.servicefarm.itests;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The shipped appliance zip unpacked into a folder of its own and run as a process (Pax Exam's container can be
 * neither killed with SIGKILL and kept, nor run twice side by side): on free ports, started, killed and started again
 * on the same folder.
 */
final class ApplianceProcess {
    static final Duration READY = Duration.ofSeconds(120);
    private static final Path SERVE = Path.of("..", "scripts", "serve").toAbsolutePath();
    private static final Pattern FARM_HOST = Pattern.compile("<servicefarm:vm [^>]*host=[\"']([^\"']+)[\"']");

    final Path home;
    final int httpPort;
    final String sshPort;
    final String dnsPort;
    final FarmClient client;
    private Process karaf;
    private final Map<String, Integer> startingAnswers = new java.util.concurrent.ConcurrentHashMap<>();
    /** Whether {@link #start} also has clients ask for the VMs every 10 ms ({@link #watchBoots}). */
    private boolean watchingBoots;

    /** Unpacks the zip the build made into {@code target/<folder>}, on free ports, with the component repository. */
    ApplianceProcess(String folder) throws Exception {
        String zip = System.getProperty("servicefarm.assembly.zip");
        String components = System.getProperty("servicefarm.components");
        assertNotNull("servicefarm.assembly.zip is not set (run through mvn verify)", zip);
        assertTrue("the component repository is missing: run components/build (scripts/test does): " + components,
                components != null && Files.isDirectory(Path.of(components, "blobs")));
        Path base = Path.of("target", folder).toAbsolutePath();
        run(Duration.ofSeconds(60), "rm", "-rf", base.toString());
        Files.createDirectories(base);
        run(Duration.ofSeconds(120), "unzip", "-q", zip, "-d", base.toString());
        try (var dirs = Files.list(base)) {
            home = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        httpPort = Integer.parseInt(ApplianceOptions.freePort());
        set("org.ops4j.pax.web.cfg", "org.osgi.service.http.port", String.valueOf(httpPort));
        sshPort = ApplianceOptions.freePort();
        set("org.apache.karaf.shell.cfg", "sshPort", sshPort);
        set("org.apache.karaf.management.cfg", "rmiRegistryPort", ApplianceOptions.freePort());
        set("org.apache.karaf.management.cfg", "rmiServerPort", ApplianceOptions.freePort());
        dnsPort = ApplianceOptions.freePort();
        set("org.servicefarm.dns.cfg", "port", dnsPort);
        // no shutdown socket (it is only ever killed): on a random port of its own, it once took the HTTP port picked
        // above before the web server bound it, and the REST API never came up
        set("config.properties", "karaf.shutdown.port", "-1");
        set("org.servicefarm.images.cfg", "repository", components);
        client = new FarmClient(httpPort);
    }

    /** Sets {@code key} in {@code etc/<file>}, replacing what the file said of it. */
    void set(String file, String key, String value) throws IOException {
        Path path = home.resolve("etc").resolve(file);
        List<String> lines = Files.exists(path) ? new ArrayList<>(Files.readAllLines(path)) : new ArrayList<>();
        lines.removeIf(line -> line.strip().startsWith(key + " ") || line.strip().startsWith(key + "="));
        lines.add(key + " = " + value);
        Files.write(path, lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Writes a QEMU host on this machine's libvirt into {@code etc/}. */
    void qemuHost(String name, int vms, String portRange, String pool, String poolDirectory) throws IOException {
        Files.writeString(home.resolve("etc/org.servicefarm.host-" + name + ".cfg"), String.join("\n",
                "name = " + name, "driver = libvirt", "uri = qemu:///system", "capacity.vcpus = 8",
                "capacity.memoryMiB = 4096", "capacity.vms = " + vms, "costPerHour = 0.05",
                "securityZone = standard", "hypervisor.portRange = " + portRange,
                "hypervisor.stagingPool = " + pool, "hypervisor.stagingDirectory = " + poolDirectory, ""));
    }

    /**
     * Leaves the demo's test-driver hosts out (their guests live in this process only): their feature out of the boot
     * features, their configurations deleted.
     */
    void withoutDemoHosts() throws IOException {
        Path features = home.resolve("etc/org.apache.karaf.features.cfg");
        String boot = Files.readString(features, StandardCharsets.UTF_8);
        String without = boot.replaceAll(",\\s*\\\\?\\s*servicefarm-demo-hosts/[^,\\s]*", "") // after another
                .replaceAll("servicefarm-demo-hosts/[^,\\s]*\\s*,\\s*\\\\?\\s*", ""); // or first
        assertTrue("the boot features name servicefarm-demo-hosts: " + boot, !without.equals(boot));
        Files.writeString(features, without, StandardCharsets.UTF_8);
        for (String demo : List.of("alpha", "beta", "gamma")) {
            Files.deleteIfExists(home.resolve("etc/org.servicefarm.host-" + demo + ".cfg"));
        }
    }

    /**
     * Starts the appliance on its folder (again after a kill) and waits until it explains a request for
     * {@code explainBody} (the whiteboard publishes resources one by one: the request resource may come last).
     */
    void start(String explainBody) throws Exception {
        // as scripts/run starts it (no terminal: a server), so that the started process is the JVM itself
        ProcessBuilder builder = new ProcessBuilder(SERVE.toString(), home.toString())
                .directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("console.log").toFile()));
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        karaf = builder.start();
        startingAnswers.clear();
        List<Thread> watchers = watchingBoots ? watchTheVms() : List.of();
        awaitUnder(READY, "the request resource", () -> {
            try {
                HttpResponse<String> answer = client.post("/api/v1/requests?explain=true", explainBody, Login.ADMIN);
                if (answer.statusCode() != 200) {
                    startingAnswers.merge(FarmClient.kindOf(answer), 1, Integer::sum);
                }
                return answer.statusCode() == 200;
            } catch (UncheckedIOException e) {
                return false; // not listening yet
            }
        });
        for (Thread watcher : watchers) {
            watcher.join(READY.toMillis());
        }
    }

    /**
     * From now on {@link #start} also has two clients ask {@code GET /api/v1/vms} every 10 ms until it answers 200,
     * their other answers counted with the start's: at boot the VM resource was once published a moment after the
     * request resource, and requests for it in that moment (the last 0.1 s before the first 200) were told 404 "not
     * found", which only such close asking meets.
     */
    void watchBoots() {
        watchingBoots = true;
    }

    private List<Thread> watchTheVms() {
        Instant deadline = Instant.now().plus(READY);
        List<Thread> watchers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Thread watcher = new Thread(() -> {
                while (Instant.now().isBefore(deadline)) {
                    try {
                        HttpResponse<String> answer = client.get("/api/v1/vms?limit=1", Login.ADMIN);
                        if (answer.statusCode() == 200) {
                            return;
                        }
                        startingAnswers.merge(FarmClient.kindOf(answer), 1, Integer::sum);
                    } catch (UncheckedIOException e) {
                        // not listening yet
                    }
                    FarmClient.pause(10);
                }
            }, "boot-watch-" + i);
            watcher.setDaemon(true);
            watcher.start();
            watchers.add(watcher);
        }
        return watchers;
    }

    /** The answers other than 200 the last {@link #start} was given while it waited, by kind, with their counts. */
    Map<String, Integer> startingAnswers() {
        return Map.copyOf(startingAnswers);
    }

    boolean running() {
        return karaf != null && karaf.isAlive();
    }

    /**
     * scripts/serve on this appliance's folder again while it runs, on the same ports: it must refuse within seconds
     * (exit 2), not start a second JVM that would run without its REST API; what it said.
     */
    String serveAgain() throws Exception {
        Path said = home.resolve("serve-again.log");
        Process again = new ProcessBuilder(SERVE.toString(), home.toString()).redirectErrorStream(true)
                .redirectOutput(said.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        boolean ended = again.waitFor(30, TimeUnit.SECONDS);
        if (!ended) {
            again.descendants().forEach(ProcessHandle::destroyForcibly);
            again.destroyForcibly();
        }
        String output = Files.readString(said, StandardCharsets.UTF_8);
        assertTrue("a second scripts/serve on the same ports still ran after 30 s: " + output, ended);
        assertTrue("exit " + again.exitValue() + ": " + output, again.exitValue() == 2);
        return output;
    }

    /**
     * SIGTERM to the process started, as an operator or a service manager stops the appliance by its pid: it must end
     * within {@code timeout}, no process of it left.
     */
    void stop(Duration timeout) throws InterruptedException {
        List<ProcessHandle> all = java.util.stream.Stream.concat(java.util.stream.Stream.of(karaf.toHandle()),
                karaf.descendants()).toList();
        karaf.destroy();
        assertTrue("the appliance did not end within " + timeout + " of a TERM to its pid",
                karaf.waitFor(timeout.toSeconds(), TimeUnit.SECONDS));
        List<ProcessHandle> left = all.stream().filter(ProcessHandle::isAlive).toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertTrue("still running after the appliance's pid ended: " + left, left.isEmpty());
        karaf = null;
    }

    /** SIGKILL to the appliance's JVM and the script that started it: no shutdown hook runs, nothing is flushed. */
    void kill() throws InterruptedException {
        if (karaf == null) {
            return;
        }
        karaf.descendants().forEach(ProcessHandle::destroyForcibly);
        karaf.destroyForcibly();
        karaf.waitFor(30, TimeUnit.SECONDS);
        karaf.descendants().forEach(p -> p.onExit().join());
        karaf = null;
    }

    /** Runs a shell command as the demo admin over bin/client; its output, or a failure naming its exit status. */
    String shell(String command) throws Exception {
        Process process = new ProcessBuilder(home.resolve("bin/client").toString(), "-u", "admin", "-p", "admin",
                "-a", sshPort, "-r", "10", "-d", "1", "-b").directory(home.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().write((command + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("bin/client did not finish: " + command);
        }
        assertTrue("exit " + process.exitValue() + " of '" + command + "': " + output, process.exitValue() == 0);
        return output;
    }

    /**
     * Every row of the table, or null while the REST API is not answering for it: after a start the resources are
     * published again when the store's arrival restarts the table and the manager over it.
     */
    List<JsonNode> vms() {
        try {
            HttpResponse<String> response = client.get("/api/v1/vms", Login.VIEWER);
            if (response.statusCode() != 200) {
                return null;
            }
            JsonNode all = FarmClient.json(response);
            List<JsonNode> list = new ArrayList<>();
            (all.isArray() ? all : all.path("vms")).forEach(list::add);
            return list;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A VM's row, waiting while the REST API is not answering for rows yet. */
    JsonNode vm(String id) throws Exception {
        JsonNode[] found = new JsonNode[1];
        awaitUnder(Duration.ofSeconds(60), "VM " + id + " to be readable", () -> {
            HttpResponse<String> response = client.get("/api/v1/vms/" + id, Login.VIEWER);
            found[0] = response.statusCode() == 200 ? FarmClient.json(response) : null;
            return found[0] != null;
        });
        return found[0];
    }

    /** GET /api/v1/status, or null while it does not answer. */
    JsonNode status() {
        try {
            HttpResponse<String> response = client.get("/api/v1/status", Login.VIEWER);
            return response.statusCode() == 200 ? FarmClient.json(response) : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    void awaitUnder(Duration timeout, String what, Condition condition) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.holds()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what + " (threads: " + dumpThreads() + "): " + vms());
            }
            FarmClient.pause(250);
        }
    }

    /** The appliance JVM's threads into a file beside its log, for a failure to be read afterwards; its path. */
    String dumpThreads() {
        if (karaf == null) {
            return "not running";
        }
        Path file = home.resolve("threads-" + System.currentTimeMillis() + ".txt");
        try {
            for (ProcessHandle process : java.util.stream.Stream.concat(java.util.stream.Stream.of(karaf.toHandle()),
                    karaf.descendants()).toList()) {
                Files.writeString(file, run(Duration.ofSeconds(30), Path.of(System.getProperty("java.home"), "bin",
                        "jcmd").toString(), String.valueOf(process.pid()), "Thread.print"), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            return file.toString();
        } catch (Exception e) {
            return "not dumped: " + e;
        }
    }

    /** The domains on this machine's libvirt whose farm metadata names {@code host}. */
    static Set<String> guestsOf(String host) throws Exception {
        Set<String> guests = new HashSet<>();
        for (String domain : RealGuestsIT.virsh(0, "list", "--all", "--name").split("\n")) {
            if (domain.isBlank()) {
                continue;
            }
            Matcher m = FARM_HOST.matcher(RealGuestsIT.virsh(-1, "dumpxml", domain.strip()));
            if (m.find() && m.group(1).equals(host)) {
                guests.add(domain.strip());
            }
        }
        return guests;
    }

    /** Destroys and undefines every domain whose farm metadata names {@code host}. */
    static void removeGuests(String host) throws Exception {
        run(Duration.ofSeconds(120), "../scripts/qemu-host", "remove-guests", host);
    }

    static String run(Duration timeout, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new UncheckedIOException(new IOException("timed out: " + String.join(" ", command)));
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
