package org.servicefarm.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
import org.servicefarm.itests.FarmClient.Grant;
import org.servicefarm.itests.FarmClient.Login;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A VM's memory survives the lifecycle, on real QEMU guests through libvirt ({@code qemu:///system}) in the assembled
 * appliance: the counter application (components/src/app/counter) keeps its count in the guest's tmpfs only, so a
 * count that goes on after a wake proves the guest came back with its memory, while a reboot would answer
 * "counter 1". The guest is put to sleep, archived in the COMPRESSED tier, and a request restores it; then its
 * archive is moved to the other farm host (both on this machine's libvirtd, each with its own port range and staging
 * pool) and a request restores it there.
 * libvirtd must run (scripts/qemu-host start); without it the class fails, it never skips. The guests and files the
 * class made are removed at the start (what an aborted run left) and at the end.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class CounterWakeIT {

    static final String HOST_A = "qemu-wake-a";
    static final String HOST_B = "qemu-wake-b";
    /** Each host stages images into a pool of its own, as separate machines would. */
    static final String POOL_PREFIX = "servicefarm-it-";
    /** Saved states: libvirtd (root) writes them, so not under the test's own target directory's exam copy. */
    static final Path STATES = Path.of("/var/lib/servicefarm/wake-it-states");
    private static final String COMPONENTS_PROPERTY = "servicefarm.it.components";
    /** The counter on the small busybox base (128 MiB): its saved state is what the archive tiers work on. */
    private static final String COUNTER = "{\"service\":\"counter\",\"environment\":{\"os\":\"busybox-1.35\"}";
    /** Long enough for a restore from any tier, far too short for a boot. */
    private static final String COUNTER_WAITING = COUNTER + ",\"deadlineMs\":30000}";
    private static final Duration GRANT = Duration.ofSeconds(150);

    private static boolean prepared;
    /** The counter's VM, as the first test was granted it. */
    private static Grant first;

    @Inject
    @Filter(timeout = 120_000)
    BootFinished bootFinished;

    private FarmClient client;

    @Configuration
    public Option[] config() {
        String components = new File(System.getProperty("servicefarm.components", "../target/components"))
                .getAbsoluteFile().toPath().normalize().toString();
        List<Option> options = new ArrayList<>(Arrays.asList(ApplianceOptions.boot()));
        options.add(editConfigurationFilePut("etc/org.servicefarm.images.cfg", "repository", components));
        options.add(editConfigurationFilePut("etc/org.servicefarm.driver.libvirt.cfg", "stateDir", STATES.toString()));
        options.addAll(host(HOST_A, "24600-24649"));
        options.addAll(host(HOST_B, "24650-24699"));
        options.add(org.ops4j.pax.exam.CoreOptions.systemProperty(COMPONENTS_PROPERTY).value(components));
        return options.toArray(Option[]::new);
    }

    /** A farm host on this machine's libvirtd with its own port range and staging pool. */
    private static List<Option> host(String name, String ports) {
        String file = "etc/org.servicefarm.host-" + name + ".cfg";
        return List.of(
                editConfigurationFilePut(file, "name", name),
                editConfigurationFilePut(file, "driver", "libvirt"),
                editConfigurationFilePut(file, "uri", RealGuestsIT.URI),
                editConfigurationFilePut(file, "capacity.vcpus", "4"),
                editConfigurationFilePut(file, "capacity.memoryMiB", "2048"),
                editConfigurationFilePut(file, "capacity.vms", "4"),
                editConfigurationFilePut(file, "costPerHour", "0.05"),
                editConfigurationFilePut(file, "securityZone", "standard"),
                editConfigurationFilePut(file, "hypervisor.portRange", ports),
                editConfigurationFilePut(file, "hypervisor.stagingPool", POOL_PREFIX + name),
                editConfigurationFilePut(file, "hypervisor.stagingDirectory", "/var/lib/libvirt/images/" + POOL_PREFIX
                        + name));
    }

    @Before
    public void connect() throws Exception {
        client = new FarmClient(Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY)));
        if (prepared) {
            return;
        }
        String version = RealGuestsIT.virsh(-1, "version");
        assertTrue("libvirtd must run on this machine for real guests (scripts/qemu-host start): " + version,
                version.contains("QEMU"));
        File index = new File(System.getProperty(COMPONENTS_PROPERTY), "index.json");
        assertTrue("the component repository is missing: run components/build to make " + index, index.isFile());
        removeWhatTheClassMade();
        client.awaitReady(Duration.ofSeconds(90));
        for (String host : List.of(HOST_A, HOST_B)) {
            FarmClient.await("host " + host + " to connect", Duration.ofSeconds(60), () -> host(host).path("connected").asBoolean());
        }
        // Only the two QEMU hosts: the counter runs for real, never as a test-driver simulation.
        client.awaitHosts(Duration.ofSeconds(60), "alpha", "beta", "gamma"); // else one registered later would stay
        for (String demo : List.of("alpha", "beta", "gamma")) {
            HttpResponse<String> removed = client.delete("/api/v1/hosts/" + demo, Login.ADMIN);
            assertEquals(removed.body(), 204, removed.statusCode());
        }
        prepared = true;
    }

    @Test
    public void a_theCounterCountsInGuestMemory() throws Exception {
        first = client.requestUntilGranted(COUNTER + "}", GRANT);
        assertTrue(first.body().toString(), List.of(HOST_A, HOST_B).contains(first.hostId()));
        assertEquals("counter 1", count(first.endpoint()));
        assertEquals("counter 2", count(first.endpoint()));
        assertEquals("counter 3", count(first.endpoint()));
        HttpResponse<String> page = client.getService(first.endpoint());
        assertEquals(200, page.statusCode());
        assertEquals("the readiness probe's page does not count", "counter 4", count(first.endpoint()));
    }

    /** Asleep (suspended in memory), then archived compressed: the saved state out of memory, the count in it. */
    @Test
    public void b_sleptArchivedCompressedAndRestoredTheCountGoesOn() throws Exception {
        String id = first.vmId();
        HttpResponse<String> slept = client.post("/api/v1/vms/" + id + "/sleep", "", Login.ADMIN);
        assertEquals(slept.body(), 200, slept.statusCode());
        assertEquals("SLEEPING", vm(id).path("state").asText());
        assertEquals("paused", RealGuestsIT.virsh(0, "domstate", id).trim());

        HttpResponse<String> archived = client.post("/api/v1/vms/" + id + "/archive?tier=COMPRESSED", "", Login.ADMIN);
        assertEquals(archived.body(), 200, archived.statusCode());
        JsonNode vm = vm(id);
        assertEquals(vm.toString(), "ARCHIVED", vm.path("state").asText());
        JsonNode archive = vm.path("archive");
        assertEquals(vm.toString(), "COMPRESSED", archive.path("tier").asText());
        long bytes = archive.path("bytes").asLong();
        long raw = archive.path("rawBytes").asLong();
        // zstd -1 makes a 128 MiB guest's 73 MB saved state about 3x smaller (STACK.md); 2x leaves room for noise
        assertTrue(vm.toString(), bytes > 0 && raw > 2 * bytes);
        assertEquals("no QEMU runs for it", "shut off", RealGuestsIT.virsh(0, "domstate", id).trim());

        Grant back = restore(id);
        assertEquals(back.body().toString(), first.hostId(), back.hostId());
        assertEquals("counter 5", count(back.endpoint()));
        System.out.println("restored from " + bytes + " bytes compressed (" + raw + " saved): " + back.body());
    }

    /** The archive moved to the other farm host: restored there, on that host's port, the count still going on. */
    @Test
    public void c_relocatedToTheOtherHostTheCountGoesOn() throws Exception {
        String id = first.vmId();
        HttpResponse<String> archived = client.post("/api/v1/vms/" + id + "/archive?tier=COMPRESSED", "", Login.ADMIN);
        assertEquals(archived.body(), 200, archived.statusCode());
        String other = HOST_A.equals(first.hostId()) ? HOST_B : HOST_A;
        HttpResponse<String> moved = client.post("/api/v1/vms/" + id + "/migrate?host=" + other, "", Login.ADMIN);
        assertEquals(moved.body(), 200, moved.statusCode());
        JsonNode vm = vm(id);
        assertEquals(vm.toString(), "ARCHIVED", vm.path("state").asText());
        assertEquals(vm.toString(), other, vm.path("host").asText());
        assertEquals(vm.toString(), "COMPRESSED", vm.path("archive").path("tier").asText());
        String xml = RealGuestsIT.virsh(0, "dumpxml", id);
        assertTrue("the domain is the other host's now: " + xml, xml.contains("host=\"" + other + "\"")
                || xml.contains("host='" + other + "'"));

        Grant back = restore(id);
        assertEquals(back.body().toString(), other, back.hostId());
        int port = back.endpoint().path("port").asInt();
        assertNotEquals(first.endpoint().path("port").asInt(), port);
        assertTrue("a port of " + other + "'s range: " + port, HOST_B.equals(other)
                ? port >= 24650 && port <= 24699 : port >= 24600 && port <= 24649);
        assertEquals("counter 6", count(back.endpoint()));
    }

    /**
     * The archive damaged on its host's disk (cut to half, as by a disk that filled while it was written): QEMU cannot
     * load it, and the request that wanted it is granted a new guest (its count starts again) instead of failing, the
     * damaged VM left ARCHIVED with why. The failure must come back, not hang: a restore that never ended would hold
     * every request for the counter on it.
     */
    @Test
    public void d_aDamagedArchiveGivesWayToANewGuest() throws Exception {
        String id = first.vmId();
        HttpResponse<String> archived = client.post("/api/v1/vms/" + id + "/archive?tier=COMPRESSED", "", Login.ADMIN);
        assertEquals(archived.body(), 200, archived.statusCode());
        String host = vm(id).path("host").asText();
        Path archive = STATES.resolve(host).resolve(id + ".save.zst");
        long bytes = Files.size(archive);
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(archive,
                java.nio.file.StandardOpenOption.WRITE)) {
            file.truncate(bytes / 2);
        }

        long started = System.nanoTime();
        Grant fresh = client.requestUntilGranted(COUNTER_WAITING, GRANT);
        long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
        assertNotEquals(fresh.body().toString(), id, fresh.vmId());
        assertEquals("a new guest, not the damaged one's memory", "counter 1", count(fresh.endpoint()));
        JsonNode damaged = vm(id);
        assertEquals(damaged.toString(), "ARCHIVED", damaged.path("state").asText());
        assertTrue(damaged.toString(), damaged.path("detail").asText().startsWith("restoring " + id + " on " + host
                + " failed: "));
        System.out.println("CounterWakeIT: archive cut from " + bytes + " to " + bytes / 2 + " bytes; a new guest "
                + "granted in " + seconds + " s after " + fresh.retries() + " RETRY_LATER: " + fresh.body()
                + "; the damaged VM: " + damaged.path("detail").asText());
    }

    @Test
    public void z_removeWhatTheClassMade() throws Exception {
        assertTrue("the tests made a guest", removeWhatTheClassMade() >= 1);
    }

    // --- helpers --------------------------------------------------------------------------------

    /** A request for the counter while its VM is ARCHIVED: answered RESTORED within the request's deadline. */
    private Grant restore(String id) {
        HttpResponse<String> response = client.post("/api/v1/requests", COUNTER_WAITING, Login.ADMIN);
        assertEquals(response.body(), 200, response.statusCode());
        Grant back = new Grant(FarmClient.json(response), 0);
        assertEquals(response.body(), id, back.vmId());
        assertEquals(response.body(), "RESTORED", back.activation());
        return back;
    }

    private String count(JsonNode endpoint) {
        HttpResponse<String> answer = client.getService(endpoint, "/cgi-bin/count");
        assertEquals(answer.body(), 200, answer.statusCode());
        return answer.body().trim();
    }

    private JsonNode vm(String id) {
        return FarmClient.json(client.get("/api/v1/vms/" + id, Login.VIEWER));
    }

    private JsonNode host(String name) {
        for (JsonNode host : FarmClient.json(client.get("/api/v1/hosts", Login.VIEWER)).path("hosts")) {
            if (name.equals(host.path("name").asText())) {
                return host;
            }
        }
        return FarmClient.JSON.createObjectNode();
    }

    private static int removeWhatTheClassMade() throws Exception {
        int removed = RealGuestsIT.removeGuestsOf(HOST_A) + RealGuestsIT.removeGuestsOf(HOST_B);
        if (Files.exists(STATES)) {
            new ProcessBuilder("rm", "-rf", STATES.toString()).inheritIO().start().waitFor();
        }
        for (String host : List.of(HOST_A, HOST_B)) {
            RealGuestsIT.removePool(POOL_PREFIX + host);
        }
        return removed;
    }
}
