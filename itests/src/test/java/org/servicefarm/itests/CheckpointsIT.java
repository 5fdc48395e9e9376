package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import javax.inject.Inject;

import org.apache.karaf.features.BootFinished;
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
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Checkpoints and fast start in the assembled appliance, on real QEMU guests through the qemu driver (no libvirt):
 * an offering asked for as often as the popularity threshold is checkpointed in the background on the qemu host;
 * the next new VM of it is CREATED from the checkpoint (the grant says so) and answers with the application's page.
 * Then two new VMs of the checkpointed offering start from the checkpoint at once and both answer on their own
 * endpoints: the appliance is configured as a farm that wants replicas would be (one request a minute fills a VM,
 * the premium tier scales out at half that, two replicas of an offering may share this one host), so a request
 * that finds the first clone busy is granted on it and a second clone is started in the background.
 * QEMU must be installed (scripts/qemu-host start installs it and the libvirt-qemu user); without it the class
 * fails, it never skips. Last, the host is removed at run time and its pool processes stop; every QEMU process and
 * file the class made is removed at the end.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class CheckpointsIT {

    static final String HOST = "qemu-cp-it";
    static final Path STATE = Path.of("/run/servicefarm/qemu-it");
    static final Path DATA = Path.of("/var/lib/servicefarm/qemu-it");
    static final Path IMAGES = Path.of("/var/lib/servicefarm/qemu-it-images");
    private static final String COMPONENTS_PROPERTY = "servicefarm.it.components";
    /** The busybox static site: the smallest real image (a busybox initramfs), booted under TCG in 6-8 s. */
    private static final String SITE = "{\"service\":\"static-site\",\"environment\":{\"os\":\"busybox-1.35\","
            + "\"server\":\"busybox-httpd-1.35\"}";
    /** The free tier: one replica at most, so the first test's requests never scale out. */
    private static final String FREE = SITE + ",\"tier\":\"free\"}";
    /** Long enough for a restore, far too short for a boot. */
    private static final String FREE_WAITING = SITE + ",\"tier\":\"free\",\"deadlineMs\":20000}";
    /** Premium: a busy VM (over half of vm.requestsPerMinute) gets a replica, up to 4. */
    private static final String PREMIUM_WAITING = SITE + ",\"tier\":\"premium\",\"deadlineMs\":20000}";
    private static final Duration GRANT = Duration.ofSeconds(150);

    private static boolean cleaned;

    @Inject
    @Filter(timeout = 120_000)
    BootFinished bootFinished;

    @Inject
    @Filter(value = "(hypervisor.driver.name=qemu)", timeout = 60_000)
    HypervisorDriver qemu;

    @Inject
    org.osgi.service.cm.ConfigurationAdmin configurationAdmin;

    private FarmClient client;

    @Configuration
    public Option[] config() {
        String components = new File(System.getProperty("servicefarm.components", "../target/components"))
                .getAbsoluteFile().toPath().normalize().toString();
        String hostFile = "etc/org.servicefarm.host-" + HOST + ".cfg";
        List<Option> options = new ArrayList<>(Arrays.asList(ApplianceOptions.boot()));
        options.addAll(List.of(
                editConfigurationFilePut("etc/org.servicefarm.images.cfg", "repository", components),
                editConfigurationFilePut("etc/org.servicefarm.popularity.cfg", "threshold", "2"),
                // one grant a minute fills a VM: a second request soon after finds it busy (premium scales out)
                editConfigurationFilePut("etc/org.servicefarm.core.cfg", "vm.requestsPerMinute", "1"),
                // a single host: two replicas of one offering may share it
                editConfigurationFilePut("etc/org.servicefarm.filter.antiaffinity.cfg", "maxReplicasPerHost", "2"),
                editConfigurationFilePut("etc/org.servicefarm.driver.qemu.cfg", "stateDir", STATE.toString()),
                editConfigurationFilePut("etc/org.servicefarm.driver.qemu.cfg", "dataDir", DATA.toString()),
                editConfigurationFilePut("etc/org.servicefarm.driver.qemu.cfg", "imageDir", IMAGES.toString()),
                editConfigurationFilePut(hostFile, "name", HOST),
                editConfigurationFilePut(hostFile, "driver", "qemu"),
                editConfigurationFilePut(hostFile, "uri", "qemu+direct:///local"),
                editConfigurationFilePut(hostFile, "capacity.vcpus", "8"),
                editConfigurationFilePut(hostFile, "capacity.memoryMiB", "3072"),
                editConfigurationFilePut(hostFile, "capacity.vms", "6"),
                editConfigurationFilePut(hostFile, "costPerHour", "0.05"),
                editConfigurationFilePut(hostFile, "securityZone", "standard"),
                editConfigurationFilePut(hostFile, "hypervisor.portRange", "26500-26599"),
                editConfigurationFilePut(hostFile, "hypervisor.poolSize", "2"),
                org.ops4j.pax.exam.CoreOptions.systemProperty(COMPONENTS_PROPERTY).value(components)));
        return options.toArray(Option[]::new);
    }

    private void prepare() throws Exception {
        client = new FarmClient(Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY)));
        if (cleaned) {
            return;
        }
        assertTrue("QEMU must be installed (scripts/qemu-host start installs it)",
                Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")));
        File index = new File(System.getProperty(COMPONENTS_PROPERTY), "index.json");
        assertTrue("the component repository is missing: run components/build to make " + index, index.isFile());
        client.awaitReady(Duration.ofSeconds(90));
        await("host " + HOST + " to connect", Duration.ofSeconds(60), () -> {
            for (JsonNode host : FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts")) {
                if (HOST.equals(host.path("name").asText())) {
                    return host.path("connected").asBoolean();
                }
            }
            return false;
        });
        cleaned = true;
    }

    @Test
    public void a_aPopularCombinationIsCheckpointedAndItsNextNewVmStartsFromTheCheckpoint() throws Exception {
        prepare();
        Grant booted = client.requestUntilGranted(FREE, GRANT);
        assertEquals("a real image boots on the qemu host: " + booted.body(), HOST, booted.hostId());
        HttpResponse<String> page = client.getService(booted.endpoint());
        assertEquals(200, page.statusCode());
        assertTrue(page.body(), page.body().contains("static-site"));
        // the second request reaches the threshold (2): pre-built (at hand) and checkpointed in the background
        client.post("/api/v1/requests", FREE, Login.ADMIN);
        JsonNode checkpoint = awaitCheckpointImage(Duration.ofSeconds(120));
        assertEquals("READY", checkpoint.path("state").asText());
        assertTrue(checkpoint.toString(), checkpoint.path("detail").asText().contains("on host " + HOST));
        JsonNode vm = FarmClient.json(client.get("/api/v1/vms/" + booted.vmId(), Login.VIEWER));
        assertTrue(vm.toString(), checkpoint.path("id").asText().startsWith("cp-" + vm.path("image").asText() + "@"));

        // the booted guest's QEMU dies: the farm drops the VM, and the next request needs a new one
        killQemuOf(booted.vmId());
        await("the dead VM to leave the farm", Duration.ofSeconds(60), () -> !FarmClient.json(
                client.get("/api/v1/vms/" + booted.vmId(), Login.VIEWER)).path("state").asText().equals("ACTIVE"));
        await("no VM of it active", Duration.ofSeconds(60), () -> activeVms().isEmpty());

        long t0 = System.nanoTime();
        HttpResponse<String> created = client.post("/api/v1/requests", FREE_WAITING, Login.ADMIN);
        long took = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(created.body(), 200, created.statusCode());
        JsonNode grant = FarmClient.json(created);
        assertEquals(grant.toString(), "CREATED", grant.path("activation").asText());
        assertEquals(grant.toString(), "CHECKPOINT", grant.path("start").asText());
        page = client.getService(grant.path("endpoint"));
        assertEquals(200, page.statusCode());
        assertTrue(page.body(), page.body().contains("static-site"));
        JsonNode clone = FarmClient.json(client.get("/api/v1/vms/" + grant.path("vmId").asText(), Login.VIEWER));
        assertTrue(clone.toString(), clone.path("detail").asText().startsWith("created from checkpoint cp-"));
        System.out.println("request -> granted from the checkpoint in " + took + " ms (the boot: "
                + vm.path("detail").asText() + ")");
    }

    @Test
    public void b_twoNewVmsStartFromTheCheckpointAtOnceAndBothAnswerOnTheirOwnEndpoints() throws Exception {
        prepare();
        awaitCheckpointImage(Duration.ofSeconds(120)); // the first test made it
        // from nothing: every VM of the offering goes (its QEMU dies), so both VMs below are new
        for (JsonNode vm : activeVms()) {
            killQemuOf(vm.path("id").asText());
        }
        await("no VM of it active", Duration.ofSeconds(60), () -> activeVms().isEmpty());

        long t0 = System.nanoTime();
        HttpResponse<String> firstAnswer = client.post("/api/v1/requests", PREMIUM_WAITING, Login.ADMIN);
        assertEquals(firstAnswer.body(), 200, firstAnswer.statusCode());
        JsonNode first = FarmClient.json(firstAnswer);
        assertEquals(first.toString(), "CREATED", first.path("activation").asText());
        assertEquals(first.toString(), "CHECKPOINT", first.path("start").asText());
        // one grant fills the first clone (vm.requestsPerMinute 1): the next premium request is granted on it at once
        // and a second VM is started in the background
        HttpResponse<String> secondAnswer = client.post("/api/v1/requests", PREMIUM_WAITING, Login.ADMIN);
        assertEquals(secondAnswer.body(), 200, secondAnswer.statusCode());
        JsonNode second = FarmClient.json(secondAnswer);
        assertEquals(second.toString(), first.path("vmId").asText(), second.path("vmId").asText());
        assertEquals(second.toString(), "ACTIVE", second.path("activation").asText());
        await("a second VM of the offering to be ACTIVE", Duration.ofSeconds(60), () -> activeVms().size() == 2);
        long bothMs = (System.nanoTime() - t0) / 1_000_000;

        List<JsonNode> vms = activeVms();
        List<Integer> ports = new ArrayList<>();
        for (JsonNode vm : vms) {
            assertTrue(vm.toString(), vm.path("detail").asText().startsWith("created from checkpoint cp-"));
            ports.add(vm.path("endpoints").path("static-site").path("port").asInt());
        }
        assertEquals("each on its own endpoint: " + vms, 2, ports.stream().distinct().count());
        // both answer together: one GET each, sent at the same moment
        List<CompletableFuture<HttpResponse<String>>> pages = new ArrayList<>();
        for (JsonNode vm : vms) {
            pages.add(CompletableFuture.supplyAsync(() -> client.getService(vm.path("endpoints").path("static-site"))));
        }
        for (CompletableFuture<HttpResponse<String>> page : pages) {
            HttpResponse<String> answer = page.get(30, TimeUnit.SECONDS);
            assertEquals(answer.body(), 200, answer.statusCode());
            assertTrue(answer.body(), answer.body().contains("static-site"));
        }
        System.out.println("two VMs from the checkpoint ACTIVE " + bothMs + " ms after the first request: "
                + vms.get(0).path("detail").asText() + " | " + vms.get(1).path("detail").asText());
    }

    /**
     * The adaptive keep-alive policy chosen at run time lets a VM of a checkpointed image rest as the checkpoint: where
     * it would archive the VM (here: its fallback keep-alive, cut to 3 s, has passed) it destroys it instead, no
     * archive is written, and the next request's VM starts from the checkpoint.
     */
    @Test
    public void c_theAdaptivePolicyLetsAVmOfACheckpointedImageRestAsTheCheckpoint() throws Exception {
        prepare();
        awaitCheckpointImage(Duration.ofSeconds(120));
        update("org.servicefarm.keepalive.adaptive", Map.of("fallback.keepAlive.s", "3"));
        // untaught (history.h 0): the earlier tests' requests of the same combination would give it a plan, and
        // this test is of the fallback's end
        update("org.servicefarm.lifecycle", Map.of("policy.target", "(keepalive.name=adaptive)",
                "sweep.interval.s", "1", "history.h", "0"));
        HttpResponse<String> answer = client.post("/api/v1/requests", FREE_WAITING, Login.ADMIN);
        assertEquals(answer.body(), 200, answer.statusCode());
        String vmId = FarmClient.json(answer).path("vmId").asText();
        // the qemu driver keeps saved state as saved: a compressed archive asked for is refused, saying why
        HttpResponse<String> compressed = client.post("/api/v1/vms/" + vmId + "/archive?tier=COMPRESSED", "",
                Login.ADMIN);
        assertEquals(compressed.body(), 409, compressed.statusCode());
        assertTrue(compressed.body(), FarmClient.json(compressed).path("detail").asText()
                .contains("keeps archives in tier SAVED only, not COMPRESSED"));
        JsonNode[] rested = new JsonNode[1];
        await("the VM to rest", Duration.ofSeconds(60), () -> {
            rested[0] = FarmClient.json(client.get("/api/v1/vms/" + vmId, Login.VIEWER));
            return !List.of("ACTIVE", "SLEEPING").contains(rested[0].path("state").asText());
        });
        assertEquals(rested[0].toString(), "DESTROYED", rested[0].path("state").asText());
        assertTrue(rested[0].toString(), rested[0].path("detail").asText().contains("rests as its image's checkpoint"));
        assertTrue("no archive of it: " + rested[0], rested[0].path("archive").isMissingNode()
                || rested[0].path("archive").isNull());
        await("no VM of it active", Duration.ofSeconds(60), () -> activeVms().isEmpty());

        HttpResponse<String> again = client.post("/api/v1/requests", FREE_WAITING, Login.ADMIN);
        assertEquals(again.body(), 200, again.statusCode());
        JsonNode grant = FarmClient.json(again);
        assertEquals(grant.toString(), "CREATED", grant.path("activation").asText());
        assertEquals(grant.toString(), "CHECKPOINT", grant.path("start").asText());
        System.out.println("rested as the checkpoint: " + rested[0].path("detail").asText());
        update("org.servicefarm.lifecycle", Map.of("policy.target", "(keepalive.name=fixed)"));
    }

    private void update(String pid, Map<String, String> settings) throws IOException {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(pid, "?");
        java.util.Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new java.util.Hashtable<>();
        }
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            properties.put(setting.getKey(), setting.getValue());
        }
        configuration.update(properties);
    }

    /**
     * Last: the host leaves the farm (DELETE /api/v1/hosts/HOST, once no VM occupies it) and its driver stops the pool
     * processes it kept for future VMs. Then, whatever happened before, every QEMU process the host's state directory
     * names is stopped and the directories the class made are removed (Pax Exam runs @AfterClass in the appliance
     * after every method, so cleaning up is this method's job).
     */
    @Test
    public void z_aRemovedHostStopsItsPoolProcesses() throws Exception {
        try {
            prepare();
            for (JsonNode vm : activeVms()) {
                killQemuOf(vm.path("id").asText());
            }
            await("no VM of it active", Duration.ofSeconds(60), () -> activeVms().isEmpty());
            assertTrue("the checkpoint's pool runs: " + runningQemus(), !runningQemus().isEmpty());
            HttpResponse<String> removed = client.delete("/api/v1/hosts/" + HOST, Login.ADMIN);
            assertEquals(removed.body(), 204, removed.statusCode());
            await("the host's pool processes to stop", Duration.ofSeconds(60), () -> runningQemus().isEmpty());
        } finally {
            for (long pid : runningQemus()) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            for (Path dir : List.of(STATE, DATA, IMAGES)) {
                if (Files.exists(dir)) {
                    new ProcessBuilder("rm", "-rf", dir.toString()).inheritIO().start().waitFor();
                }
            }
        }
    }

    /** The QEMU processes named by the pid files of the host's state directory that run now. */
    private static List<Long> runningQemus() {
        List<Long> running = new ArrayList<>();
        Path state = STATE.resolve(HOST);
        if (!Files.isDirectory(state)) {
            return running;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(state, "*.pid")) {
            for (Path pidFile : files) {
                long pid;
                try {
                    pid = Long.parseLong(Files.readString(pidFile).trim());
                } catch (IOException | NumberFormatException e) { // removed or being written meanwhile
                    continue;
                }
                ProcessHandle.of(pid).filter(p -> p.isAlive() && p.info().command().orElse("").contains("qemu-system"))
                        .ifPresent(p -> running.add(p.pid()));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return running;
    }

    private static void killPidFile(Path pidFile) throws IOException {
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        ProcessHandle.of(pid).filter(p -> p.info().command().orElse("").contains("qemu-system"))
                .ifPresent(ProcessHandle::destroyForcibly);
    }

    /** The QEMU process of a VM: named by its VM id when booted, by its pool slot (its record's guest) when cloned. */
    private static void killQemuOf(String vmId) throws IOException {
        JsonNode record = FarmClient.JSON.readTree(STATE.resolve(HOST).resolve("vms").resolve(vmId + ".json").toFile());
        String guest = record.path("guest").asText(vmId);
        Path pid = STATE.resolve(HOST).resolve((guest.isEmpty() ? vmId : guest) + ".pid");
        assertTrue("no pid file " + pid, Files.exists(pid));
        killPidFile(pid);
    }

    private JsonNode awaitCheckpointImage(Duration timeout) {
        JsonNode[] found = new JsonNode[1];
        await("a checkpoint image", timeout, () -> {
            for (JsonNode image : FarmClient.json(client.get("/api/v1/images", Login.VIEWER)).path("images")) {
                if ("CHECKPOINT".equals(image.path("kind").asText())) {
                    found[0] = image;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private List<JsonNode> activeVms() {
        List<JsonNode> active = new ArrayList<>();
        for (JsonNode vm : FarmClient.json(client.get("/api/v1/vms", Login.VIEWER)).path("vms")) {
            if ("ACTIVE".equals(vm.path("state").asText()) && "static-site".equals(vm.path("offering").path("service").asText())) {
                active.add(vm);
            }
        }
        return active;
    }

    private static void await(String what, Duration timeout, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting for " + what);
            }
            FarmClient.pause(250);
        }
    }
}
