package org.servicefarm.driver.xapi.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.driver.xapi.simulator.XapiSimulator;

/** The driver over the wire against the XAPI simulator on loopback: every call is real JSON-RPC over HTTP. */
class XapiHostConnectionTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final String ARGS = "console=hvc0 quiet sf.service=wiki";
    private static final int GUEST_PORT = 8080;

    @TempDir
    Path dir;
    private XapiSimulator pool;
    private XapiDriver.Settings settings;
    private HostRecord host;
    private final List<VmEvent> events = new CopyOnWriteArrayList<>();
    private XapiHostConnection connection;

    @BeforeEach
    void setUp() throws Exception {
        pool = XapiSimulator.start(dir.resolve("pool"), "root", "secret", "xen-a", "xen-b");
        settings = new XapiDriver.Settings(Set.of(XapiHostSettings.poolAddress(pool.url())), null, "root", "secret",
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(30), dir.resolve("boot"),
                Path.of("/usr/sbin/mke2fs"));
        host = new HostRecord("xen1", "xapi", pool.url(), new Capacity(8, 8192, 8), 0.04, "standard",
                Map.of("addressTimeoutSeconds", "10"), 1.0);
        connection = connect(host);
    }

    @AfterEach
    void tearDown() {
        if (connection != null) {
            connection.close();
        }
        pool.close();
    }

    private XapiHostConnection connect(HostRecord record) throws HypervisorException {
        return XapiHostConnection.open(record, XapiHostSettings.of(record, settings.pools()), settings, events::add,
                closed -> { });
    }

    private ImageRef image() throws IOException {
        Path kernel = Files.write(dir.resolve("vmlinuz"), "a kernel".getBytes(StandardCharsets.US_ASCII));
        Path initrd = Files.write(dir.resolve("initrd.cpio.gz"), new byte[300_000]);
        return new ImageRef("img-wiki", WIKI, ImageRef.Kind.BUILT, List.of(), List.of(artifact(Artifact.Kind.KERNEL,
                kernel), artifact(Artifact.Kind.INITRD, initrd)), ARGS, 300_008);
    }

    private static Artifact artifact(Artifact.Kind kind, Path file) throws IOException {
        try {
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
            return new Artifact(kind, file, sha, Files.size(file));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private VmSpec spec(String vmId, StagedImage staged) {
        return new VmSpec(vmId, WIKI, staged, 2, 512, List.of(new VmSpec.GuestService("wiki", GUEST_PORT)),
                Instant.parse("2026-11-28T00:00:00Z"));
    }

    @Test
    void aVmLivesItsWholeLifeOnThePool() throws Exception {
        ImageRef image = image();
        StagedImage staged = connection.stage(image);
        assertEquals(1, pool.calls("VDI.create"), "kernel and initrd travel in one boot disk");
        assertEquals(staged, connection.stage(image), "staged once per content");
        assertEquals(1, pool.calls("VDI.create"));
        try (var left = Files.list(dir.resolve("boot"))) {
            assertEquals(List.of(), left.toList(), "the boot disk made for the upload is gone: the pool keeps it");
        }
        String menu = debugfsCat(pool.vdiFile(staged.location(Artifact.Kind.KERNEL).orElseThrow()),
                "/boot/grub/grub.cfg");
        assertTrue(menu.contains("linux /boot/vmlinuz " + ARGS) && menu.contains("initrd /boot/initrd.img"), menu);

        connection.define(spec("vm-1", staged));
        Map<String, Object> vm = pool.vm("vm-1").orElseThrow();
        assertEquals("Halted", vm.get("power_state"));
        assertEquals("pygrub", vm.get("PV_bootloader"));
        assertEquals("pv_in_pvh", vm.get("domain_type"));
        assertEquals(2L, ((Number) vm.get("VCPUs_at_startup")).longValue());
        assertEquals(512L * 1024 * 1024, ((Number) vm.get("memory_static_max")).longValue());

        Map<String, Endpoint> endpoints = connection.start("vm-1");
        Endpoint wiki = endpoints.get("wiki");
        assertTrue(wiki.host().startsWith("127.77."), wiki.toString());
        assertEquals(GUEST_PORT, wiki.port());
        assertTrue(answers(wiki), "a running guest answers at its address");

        connection.suspend("vm-1");
        assertFalse(answers(wiki), "a paused guest does not");
        assertEquals(wiki, connection.resume("vm-1").get("wiki"));
        assertTrue(answers(wiki));

        connection.suspend("vm-1");
        // from paused (XAPI suspends a running VM only), with what its suspend image takes: about its memory
        assertEquals(new Archive(ArchiveTier.SAVED, 512L << 20, 512L << 20),
                connection.archive("vm-1", ArchiveTier.SAVED, 3));
        assertEquals("Suspended", pool.vm("vm-1").orElseThrow().get("power_state"));
        assertThrows(HypervisorException.class, () -> connection.archive("vm-1", ArchiveTier.COMPRESSED, 3));
        assertEquals(VmState.ARCHIVED, only(connection.guests()).state());
        assertTrue(answers(connection.restore("vm-1").get("wiki")));

        connection.destroy("vm-1");
        assertTrue(pool.vm("vm-1").isEmpty());
        connection.destroy("vm-1"); // idempotent
        await(() -> events.stream().anyMatch(e -> e.observed() == VmState.DESTROYED), "the deletion is reported");
        // event.from gives each changed VM once with its latest record: states in between may be skipped
        List<VmState> seen = events.stream().filter(e -> e.vmId().equals("vm-1")).map(VmEvent::observed).toList();
        assertTrue(seen.containsAll(List.of(VmState.ACTIVE, VmState.SLEEPING, VmState.ARCHIVED)), seen.toString());
        assertEquals(VmState.DESTROYED, seen.get(seen.size() - 1), seen.toString());
        // its own disk went with it; the staged one stays for the next VM
        StagedImage again = connection.stage(image);
        assertEquals(staged, again);
        assertEquals(1, pool.calls("VDI.create"));
        assertEquals(1, pool.calls("VDI.destroy"), "its own disk (the suspend image went with the resume)");
    }

    @Test
    void stagedDisksNoNeededImageUsesAreDestroyedUnlessAttachedAndTheVmsCloneLivesOn() throws Exception {
        ImageRef image = image();
        StagedImage staged = connection.stage(image);
        String boot = staged.location(Artifact.Kind.KERNEL).orElseThrow();
        connection.define(spec("vm-1", staged));
        Endpoint wiki = connection.start("vm-1").get("wiki");
        assertEquals(List.of(), connection.stagedBeyond(List.of(image)), "its image is needed");

        List<StagedContent> beyond = connection.stagedBeyond(List.of());
        assertEquals(List.of(boot), beyond.stream().map(StagedContent::id).toList(), "the boot disk, not vm-1's clone");
        assertTrue(beyond.get(0).bytes() > 300_000, beyond.toString());

        // attached as it is by a tool outside the farm: kept
        try (XapiRpc rpc = new XapiRpc(java.net.URI.create(pool.url()), null, "root", "secret", Duration.ofSeconds(10))) {
            String vm = rpc.call("VM.get_by_name_label", "vm-1").get(0).asText();
            Map<String, Object> vbd = new java.util.LinkedHashMap<>(Map.of("VM", vm, "VDI", rpc.call("VDI.get_by_uuid",
                    boot).asText(), "userdevice", "3", "bootable", false, "mode", "RO", "type", "Disk", "unpluggable",
                    true, "empty", false, "other_config", Map.of()));
            vbd.put("qos_algorithm_type", "");
            vbd.put("qos_algorithm_params", Map.of());
            String attached = rpc.call("VBD.create", vbd).asText();
            HypervisorException used = assertThrows(HypervisorException.class, () -> connection.unstage(boot));
            assertTrue(used.getMessage().contains("is attached to a VM"), used.getMessage());
            rpc.call("VBD.destroy", attached);
        }
        connection.unstage(boot);
        assertEquals(List.of(), connection.stagedBeyond(List.of()));
        connection.unstage(boot); // gone: nothing happens
        assertTrue(answers(wiki), "vm-1 runs on from its own clone");

        connection.archive("vm-1", ArchiveTier.SAVED, 3);
        assertTrue(answers(connection.restore("vm-1").get("wiki")));
        int imported = pool.calls("VDI.create");
        assertTrue(connection.stage(image).location(Artifact.Kind.KERNEL).isPresent());
        assertEquals(imported + 1, pool.calls("VDI.create"), "needed again: imported again");
    }

    /** The staging space is the SR's: every VDI counts against its physical size, and a destroyed one frees its bytes. */
    @Test
    void theStagingSpaceIsTheStorageRepositorysAndUnstagingFreesIt() throws Exception {
        StagingSpace empty = connection.stagingSpace().orElseThrow();
        assertEquals(1L << 40, empty.capacityBytes(), "the simulator's local storage");
        ImageRef image = image();
        connection.stage(image);
        StagingSpace staged = connection.stagingSpace().orElseThrow();
        StagedContent boot = connection.stagedBeyond(List.of()).get(0);
        assertEquals(empty.availableBytes() - boot.bytes(), staged.availableBytes(), "the boot disk takes its bytes");
        pool.addVdi("an operator's disk", Map.of(), 1 << 20);
        assertEquals(staged.availableBytes() - (1 << 20), connection.stagingSpace().orElseThrow().availableBytes(),
                "what is not the farm's counts too");

        pool.resizeStorage(4L * boot.bytes());
        assertTrue(connection.stagingSpace().orElseThrow().usedPercent() > 25, "a smaller disk is fuller");
        connection.unstage(boot.id());
        StagingSpace after = connection.stagingSpace().orElseThrow();
        assertEquals(4L * boot.bytes() - (1 << 20), after.availableBytes(), "only the operator's disk is left");
    }

    @Test
    void aRestartedApplianceAdoptsItsGuestsFromTheirRecord() throws Exception {
        StagedImage staged = connection.stage(image());
        connection.define(spec("vm-2", staged));
        Endpoint wiki = connection.start("vm-2").get("wiki");
        connection.define(spec("vm-3", staged));
        connection.close();
        connection = connect(host);

        List<GuestInfo> guests = connection.guests();
        assertEquals(2, guests.size(), guests.toString());
        GuestInfo.Recorded running = (GuestInfo.Recorded) guests.stream().filter(g -> g.vmId().equals("vm-2"))
                .findFirst().orElseThrow();
        assertEquals(VmState.ACTIVE, running.state());
        assertEquals(WIKI, running.metadata().offering());
        assertEquals("img-wiki", running.metadata().imageId());
        assertEquals(new Capacity(2, 512, 1), running.metadata().resources());
        assertEquals(Map.of("wiki", wiki), running.metadata().endpoints());
        assertEquals(VmState.FAILED, guests.stream().filter(g -> g.vmId().equals("vm-3")).findFirst().orElseThrow()
                .state(), "defined, never started: halted with no saved state");

        // another farm host on the same pool sees none of them
        HostRecord other = new HostRecord("xen2", "xapi", pool.url(), new Capacity(8, 8192, 8), 0.04, "standard",
                Map.of(), 1.0);
        XapiHostConnection second = connect(other);
        try {
            assertTrue(second.guests().isEmpty());
            assertThrows(HypervisorException.class, () -> second.start("vm-2"));
        } finally {
            second.close();
        }
    }

    @Test
    void eachMemberOfAPoolCanBeAHostOfItsOwn() throws Exception {
        StagedImage staged = connection.stage(image());
        XapiHostConnection a = connect(member("xen-a"));
        XapiHostConnection b = connect(member("xen-b"));
        try {
            a.define(spec("vm-a", staged));
            a.start("vm-a");
            b.define(spec("vm-b", staged));
            b.start("vm-b");
            assertEquals("xen-a", pool.residentOn("vm-a").orElseThrow());
            assertEquals("xen-b", pool.residentOn("vm-b").orElseThrow());
            b.archive("vm-b", ArchiveTier.SAVED, 3);
            b.restore("vm-b");
            assertEquals("xen-b", pool.residentOn("vm-b").orElseThrow(), "restored on its member too");
            assertEquals(List.of("vm-a"), a.guests().stream().map(GuestInfo::vmId).toList());
            assertEquals(List.of("vm-b"), b.guests().stream().map(GuestInfo::vmId).toList());
        } finally {
            a.close();
            b.close();
        }
        HypervisorException none = assertThrows(HypervisorException.class, () -> connect(member("xen-z")));
        assertTrue(none.getMessage().contains("no pool member named 'xen-z'"), none.getMessage());
    }

    private HostRecord member(String name) {
        return new HostRecord("farm-" + name, "xapi", pool.url(), new Capacity(8, 8192, 8), 0.04, "standard",
                Map.of("member", name, "addressTimeoutSeconds", "10"), 1.0);
    }

    @Test
    void powerOperationsRunAsTasksAndARefusedOneSaysWhy() throws Exception {
        connection.define(spec("vm-6", connection.stage(image())));
        connection.start("vm-6");
        HypervisorException refused = assertThrows(HypervisorException.class, () -> connection.restore("vm-6"));
        assertTrue(refused.getMessage().contains("VM.resume failed: VM_BAD_POWER_STATE"), refused.getMessage());
        assertEquals(1, pool.calls("Async.VM.start"));
        assertEquals(1, pool.calls("Async.VM.resume"));
        assertTrue(pool.calls("task.get_record") >= 2, "followed with short calls until each ended");
        assertEquals(2, pool.calls("task.destroy"), "and each destroyed once it ended");

        pool.setTaskDelay(Duration.ofSeconds(5)); // a suspend writing many GiB
        XapiDriver.Settings impatient = new XapiDriver.Settings(settings.pools(), null, "root", "secret",
                Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(30), dir.resolve("boot"),
                Path.of("/usr/sbin/mke2fs"));
        XapiHostConnection second = XapiHostConnection.open(host, XapiHostSettings.of(host, impatient.pools()),
                impatient, events::add, closed -> { });
        try {
            HypervisorException late = assertThrows(HypervisorException.class, () -> second.suspend("vm-6"));
            assertTrue(late.getMessage().contains("VM.pause did not finish within 1 s"), late.getMessage());
            assertEquals(1, pool.calls("task.cancel"), "the task left behind is cancelled");
            assertEquals(3, pool.calls("task.destroy"));
        } finally {
            second.close();
        }
    }

    @Test
    void whatHappensToAGuestOutsideTheFarmIsReported() throws Exception {
        connection.define(spec("vm-4", connection.stage(image())));
        connection.start("vm-4");
        await(() -> events.stream().anyMatch(e -> e.observed() == VmState.ACTIVE), "the start is reported");
        pool.powerOff("vm-4");
        await(() -> events.stream().anyMatch(e -> e.vmId().equals("vm-4") && e.observed() == VmState.FAILED),
                "a guest that shut down by itself is reported FAILED");
    }

    @Test
    void aPoolThatForgotItsSessionsIsLoggedInToAgain() throws Exception {
        pool.invalidateSessions();
        assertTrue(connection.guests().isEmpty());
        assertTrue(pool.calls("session.login_with_password") >= 2);
        assertTrue(connection.alive());
    }

    @Test
    void aClosedConnectionLogsOutAndNeverInAgain() throws Exception {
        XapiHostConnection closed = connection;
        connection = null;
        closed.close();
        assertEquals(1, pool.calls("session.logout"));
        assertFalse(closed.alive());
        assertThrows(HypervisorException.class, closed::guests);
        assertEquals(1, pool.calls("session.login_with_password"));
    }

    @Test
    void aPoolThatGoesAwayEndsTheConnection() throws Exception {
        assertTrue(connection.alive());
        pool.stop();
        await(() -> !connection.alive(), "the connection knows the pool is gone");
        assertThrows(HypervisorException.class, () -> connection.guests());
    }

    @Test
    void aRefusedLoginOrAMissingTemplateSaysSoAndLeavesNothingBehind() {
        XapiDriver.Settings wrong = new XapiDriver.Settings(settings.pools(), null, "root", "wrong", Duration.ofSeconds(5),
                Duration.ofSeconds(5), Duration.ofSeconds(5), dir, Path.of("/usr/sbin/mke2fs"));
        HypervisorException refused = assertThrows(HypervisorException.class, () -> XapiHostConnection.open(host,
                XapiHostSettings.of(host, wrong.pools()), wrong, events::add, c -> { }));
        assertTrue(refused.getMessage().contains("SESSION_AUTHENTICATION_FAILED"), refused.getMessage());
        assertFalse(refused.getMessage().contains("wrong"), "no credential in a message");

        HostRecord noTemplate = new HostRecord("xen1", "xapi", pool.url(), new Capacity(8, 8192, 8), 0.04, "standard",
                Map.of("template", "Debian Bookworm 12"), 1.0);
        HypervisorException missing = assertThrows(HypervisorException.class, () -> connect(noTemplate));
        assertTrue(missing.getMessage().contains("no template 'Debian Bookworm 12'"), missing.getMessage());
    }

    @Test
    void aDefineThatFailsHalfwayLeavesNoVm() throws Exception {
        StagedImage staged = connection.stage(image());
        StagedImage vanished = new StagedImage(staged.image(), Map.of(Artifact.Kind.KERNEL,
                "00000000-0000-0000-0000-000000000000"));
        assertThrows(HypervisorException.class, () -> connection.define(spec("vm-5", vanished)));
        assertTrue(pool.vm("vm-5").isEmpty());
        assertTrue(connection.guests().isEmpty());
    }

    private static GuestInfo only(List<GuestInfo> guests) {
        assertEquals(1, guests.size(), guests.toString());
        return guests.get(0);
    }

    private static boolean answers(Endpoint endpoint) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + endpoint.host()
                    + ":" + endpoint.port() + "/")).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static String debugfsCat(Path image, String file) throws Exception {
        Process debugfs = new ProcessBuilder("/usr/sbin/debugfs", "-R", "cat " + file, image.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(debugfs.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, debugfs.waitFor());
        return out;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(20);
        }
    }
}
