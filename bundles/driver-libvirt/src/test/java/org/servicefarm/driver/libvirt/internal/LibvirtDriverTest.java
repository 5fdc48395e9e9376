package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmSpec;

/** The driver against libvirt's real test driver: one libvirt connection per host, no mocks. */
class LibvirtDriverTest {

    private static final long EVENT_TIMEOUT_SECONDS = 10;

    @TempDir
    Path dir;

    private LibvirtDriver driver;
    private final List<HostConnection> opened = new ArrayList<>();
    private final BlockingQueue<VmEvent> events = new LinkedBlockingQueue<>();

    @BeforeEach
    void activate() throws Exception {
        driver = Fixtures.driver(dir.resolve("state"), dir);
    }

    @AfterEach
    void deactivate() {
        opened.forEach(HostConnection::close);
        driver.deactivate();
    }

    private HostConnection connect(String name, Map<String, String> properties, String... domains) throws Exception {
        Path node = Fixtures.nodeFile(dir, name, 4, 8192, domains);
        HostConnection connection = driver.connect(Fixtures.testHost(name, node, properties), events::add);
        opened.add(connection);
        return connection;
    }

    private static VmState stateOf(HostConnection host, String vmId) throws HypervisorException {
        return host.guests().stream().filter(g -> g.vmId().equals(vmId)).map(GuestInfo::state).findFirst()
                .orElse(VmState.DESTROYED);
    }

    private VmEvent nextEvent() throws InterruptedException {
        VmEvent event = events.poll(EVENT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(event, "no event within " + EVENT_TIMEOUT_SECONDS + " s");
        return event;
    }

    @Test
    void aVmIsArchivedInEachTierAndRestoredFromIt() throws Exception {
        int port = Fixtures.freePorts(5);
        HostConnection beta = connect("beta", Map.of("portRange", Fixtures.range(port, 5)));
        beta.define(Fixtures.spec("vm-t", Fixtures.http()));
        Map<String, Endpoint> endpoints = beta.start("vm-t");
        Path state = dir.resolve("state").resolve("beta");
        for (org.servicefarm.api.ArchiveTier tier : org.servicefarm.api.ArchiveTier.values()) {
            org.servicefarm.api.Archive saved = beta.archive("vm-t", org.servicefarm.api.ArchiveTier.SAVED, 3);
            assertEquals(Files.size(state.resolve("vm-t.save")), saved.bytes());
            org.servicefarm.api.Archive archive = beta.archive("vm-t", tier, 3);
            assertEquals(tier, archive.tier());
            assertEquals(VmState.ARCHIVED, stateOf(beta, "vm-t"), tier + ": reported ARCHIVED in any tier");
            String file = switch (tier) {
                case SAVED -> "vm-t.save";
                case COMPRESSED -> "vm-t.save.zst";
                case DELTA -> "vm-t.save.delta";
            };
            assertEquals(Files.size(state.resolve(file)), archive.bytes(), tier + "'s bytes are its file's");
            assertEquals(saved.bytes(), archive.rawBytes(), "and it says what it stands for");
            assertEquals(tier == org.servicefarm.api.ArchiveTier.SAVED, Files.exists(state.resolve("vm-t.save")),
                    "only the tier's file is kept");
            assertEquals(endpoints, beta.restore("vm-t"), tier.name());
            assertEquals(VmState.ACTIVE, stateOf(beta, "vm-t"));
            assertFalse(Files.exists(state.resolve(file)), "restoring consumes the archive");
        }
        beta.destroy("vm-t");
    }

    /** The endpoints recorded on the host's only guest. */
    private static Map<String, Endpoint> recorded(HostConnection host) throws HypervisorException {
        return assertInstanceOf(GuestInfo.Recorded.class, host.guests().get(0)).metadata().endpoints();
    }

    @Test
    void aVmWhosePortWasTakenBeforeItStartedIsGivenOtherPortsAndStartsOnThem() throws Exception {
        int port = Fixtures.freePorts(20);
        HostConnection beta = connect("beta", Map.of("portRange", Fixtures.range(port, 20)));
        beta.define(Fixtures.spec("vm-p", Fixtures.http()));
        int first = recorded(beta).get("wiki").port();
        assertEquals(port, first, "lowest first");

        Map<String, Endpoint> moved = ((LibvirtHostConnection) beta).reforward("vm-p");
        int second = moved.get("wiki").port();
        assertNotEquals(first, second);
        assertTrue(second >= port && second < port + 20);
        assertEquals(moved, recorded(beta), "the domain's metadata names the new port");
        assertEquals(moved, beta.start("vm-p"), "it starts on it");
        assertEquals(200, SimulatedAnswers.await(moved.get("wiki")).statusCode(), "and answers there");
        // the first port is free again for the next VM; the second stays the VM's
        beta.define(Fixtures.spec("vm-q", Fixtures.http()));
        assertEquals(first, beta.start("vm-q").get("wiki").port());
        beta.destroy("vm-q");
        beta.destroy("vm-p");
        assertTrue(PortAllocator.bindable(new InetSocketAddress("127.0.0.1", second)), "destroy freed the new port");

        // as the driver reports it: libvirt's kind of error, QEMU's words in the cause (seen in MultiApplianceIT)
        assertTrue(LibvirtHostConnection.forwardTaken(new HypervisorException("host h: start sf-1 failed: libvirt "
                + "reported an internal error (libvirt VIR_ERR_INTERNAL_ERROR)", new IllegalStateException("internal "
                + "error: qemu unexpectedly closed the monitor: 2026-11-26T09:53:34.090228Z qemu-system-x86_64: -netdev "
                + "user,id=sfnet0,restrict=on,hostfwd=tcp:127.0.0.1:24850-:80: Could not set up host forwarding rule "
                + "'tcp:127.0.0.1:24850-:80'"))));
        assertFalse(LibvirtHostConnection.forwardTaken(new HypervisorException("host h: start of vm-p failed: "
                + "Cannot allocate memory")));
    }

    @Test
    void fullLifecycleOnOneOfTwoHosts() throws Exception {
        int port = Fixtures.freePorts(10);
        HostConnection alpha = connect("alpha", Map.of("portRange", Fixtures.range(port, 5)));
        HostConnection beta = connect("beta", Map.of("portRange", Fixtures.range(port + 5, 5),
                "endpointHost", "beta.local"));

        beta.define(Fixtures.spec("vm-1", Fixtures.http()));
        assertEquals(VmState.FAILED, stateOf(beta, "vm-1"), "defined, never started, nothing saved");
        assertTrue(alpha.guests().isEmpty(), "hosts are separate libvirt connections");

        Map<String, Endpoint> endpoints = beta.start("vm-1");
        assertEquals(Map.of("wiki", new Endpoint("beta.local", port + 5)), endpoints, "start reports the endpoints");
        assertEquals(VmState.ACTIVE, stateOf(beta, "vm-1"));
        beta.suspend("vm-1");
        assertEquals(VmState.SLEEPING, stateOf(beta, "vm-1"));
        assertEquals(endpoints, beta.resume("vm-1"), "so do resume and restore");
        assertEquals(VmState.ACTIVE, stateOf(beta, "vm-1"));
        beta.save("vm-1");
        assertEquals(VmState.ARCHIVED, stateOf(beta, "vm-1"));
        Path saved = dir.resolve("state").resolve("beta").resolve("vm-1.save");
        assertTrue(Files.isRegularFile(saved), "saved state is a file under the state directory");
        assertEquals(endpoints, beta.restore("vm-1"));
        assertEquals(VmState.ACTIVE, stateOf(beta, "vm-1"));
        assertFalse(Files.exists(saved), "restoring consumes the saved state");
        beta.destroy("vm-1");
        assertEquals(VmState.DESTROYED, stateOf(beta, "vm-1"));
        assertTrue(beta.guests().isEmpty());

        List<String> observed = new ArrayList<>();
        VmEvent event;
        do {
            event = nextEvent();
            assertEquals("beta", event.host());
            assertEquals("vm-1", event.vmId());
            observed.add(event.observed() + " " + event.detail());
        } while (event.observed() != VmState.DESTROYED);
        assertEquals(List.of("ACTIVE started (booted)", "SLEEPING suspended (paused)", "ACTIVE resumed (unpaused)",
                "ARCHIVED stopped (saved)", "ACTIVE started (restored)", "DESTROYED undefined (removed)"), observed);

        beta.destroy("vm-1"); // idempotent
        beta.define(Fixtures.spec("vm-2", Fixtures.http()));
        assertEquals(port + 5, portOf(beta, "vm-2"), "destroy released the port");
    }

    private static int portOf(HostConnection host, String vmId) {
        return ((LibvirtHostConnection) host).endpoints(vmId).get("wiki").port();
    }

    @Test
    void manyThreadsOnTwoHostsKeepPortsAndEventsStraight() throws Exception {
        int base = Fixtures.freePorts(20);
        List<HostConnection> hosts = List.of(connect("left", Map.of("portRange", Fixtures.range(base, 10))),
                connect("right", Map.of("portRange", Fixtures.range(base + 10, 10))));
        int perHost = 6;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        Map<String, Integer> portOf = new java.util.concurrent.ConcurrentHashMap<>();
        List<java.util.concurrent.Future<?>> work = new ArrayList<>();
        try {
            for (HostConnection host : hosts) {
                for (int i = 0; i < perHost; i++) {
                    String vmId = host.host().name() + "-vm-" + i;
                    work.add(pool.submit(() -> {
                        host.define(Fixtures.spec(vmId, Fixtures.http()));
                        portOf.put(vmId, host.start(vmId).get("wiki").port());
                        host.suspend(vmId);
                        host.resume(vmId);
                        host.save(vmId);
                        host.restore(vmId);
                        return null;
                    }));
                }
            }
            for (var future : work) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (HostConnection host : hosts) {
            String prefix = host.host().name() + "-";
            int first = host.host().name().equals("left") ? base : base + 10;
            List<Integer> ports = portOf.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                    .map(Map.Entry::getValue).sorted().toList();
            assertEquals(java.util.stream.IntStream.range(first, first + perHost).boxed().toList(), ports,
                    host.host().name() + ": each VM its own port");
            assertEquals(perHost, host.guests().stream().filter(g -> g.state() == VmState.ACTIVE).count());
            for (int i = 0; i < perHost; i++) {
                host.destroy(host.host().name() + "-vm-" + i);
            }
            assertTrue(host.guests().isEmpty());
        }
        Map<String, List<VmState>> byVm = new java.util.HashMap<>();
        while (byVm.values().stream().filter(l -> l.contains(VmState.DESTROYED)).count() < 2L * perHost) {
            VmEvent event = nextEvent();
            byVm.computeIfAbsent(event.vmId(), k -> new ArrayList<>()).add(event.observed());
        }
        List<VmState> expected = List.of(VmState.ACTIVE, VmState.SLEEPING, VmState.ACTIVE, VmState.ARCHIVED,
                VmState.ACTIVE, VmState.DESTROYED);
        byVm.forEach((vmId, observed) -> assertEquals(expected, observed, vmId));
    }

    @Test
    void simulatedGuestsAnswerOnceBootedAndNotWhileSuspendedSavedOrDestroyed() throws Exception {
        int port = Fixtures.freePorts(1);
        HostConnection host = connect("slow", Map.of("bootTimeMs", "400", "restoreTimeMs", "200",
                "portRange", Fixtures.range(port, 1)));
        host.define(Fixtures.spec("vm-slow", Fixtures.http()));
        Endpoint endpoint = new Endpoint("127.0.0.1", port);
        assertTrue(SimulatedAnswers.get(endpoint).isEmpty(), "defined, not started: the port is held, nothing answers");

        long began = System.nanoTime();
        assertEquals(Map.of("wiki", endpoint), host.start("vm-slow"));
        long startMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        assertTrue(startMs < 400, "start returns once libvirt runs the guest, not after its boot: " + startMs + " ms");
        assertEquals(VmState.ACTIVE, nextEvent().observed(), "and libvirt's STARTED is reported at once");
        assertTrue(SimulatedAnswers.get(endpoint).isEmpty(), "still booting");

        HttpResponse<String> page = SimulatedAnswers.await(endpoint);
        long answeredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        assertTrue(answeredMs >= 400, "answers after the simulated boot: " + answeredMs + " ms");
        assertEquals(200, page.statusCode());
        assertEquals(Optional.of(SimulatedGuests.SERVER), page.headers().firstValue("Server"));
        assertEquals("vm vm-slow\noffering " + Fixtures.WIKI.key() + "\nsimulated guest on libvirt test host slow\n",
                page.body());

        host.suspend("vm-slow");
        SimulatedAnswers.awaitSilence(endpoint);
        host.resume("vm-slow");
        assertEquals(200, SimulatedAnswers.await(endpoint).statusCode());
        host.save("vm-slow");
        SimulatedAnswers.awaitSilence(endpoint);
        began = System.nanoTime();
        host.restore("vm-slow");
        SimulatedAnswers.await(endpoint);
        assertTrue(System.nanoTime() - began >= TimeUnit.MILLISECONDS.toNanos(200), "after the simulated restore");

        host.destroy("vm-slow");
        assertTrue(PortAllocator.bindable(new InetSocketAddress("127.0.0.1", port)), "destroy freed the port");
    }

    @Test
    void portsSomethingElseHoldsOnThisMachineAreSkipped() throws Exception {
        int port = Fixtures.freePorts(3);
        try (ServerSocket squatter = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            HostConnection host = connect("crowded", Map.of("portRange", Fixtures.range(port, 2)));
            host.define(Fixtures.spec("vm-1", Fixtures.http()));
            assertEquals(port + 1, portOf(host, "vm-1"), "the held port is skipped, not an error");
            HypervisorException full = assertThrows(HypervisorException.class,
                    () -> host.define(Fixtures.spec("vm-2", Fixtures.http())));
            assertTrue(full.getMessage().contains("of which 1 held by something else on this machine"),
                    full.getMessage());
        }
    }

    @Test
    void hostileVmIdsRoundTripThroughLibvirt() throws Exception {
        HostConnection host = connect("hostile", Map.of());
        String id = "a'\"<b>&";
        String traversal = "../../escape";

        host.define(Fixtures.spec(id, Fixtures.http()));
        host.define(Fixtures.spec(traversal));
        host.start(id);
        host.save(id);

        assertEquals(VmState.ARCHIVED, stateOf(host, id));
        assertEquals(VmState.FAILED, stateOf(host, traversal), "'/' is encoded in the domain name, not refused");
        LibvirtHostConnection connection = (LibvirtHostConnection) host;
        Path hostStateDir = dir.resolve("state").resolve("hostile");
        assertEquals(hostStateDir, connection.saveFile(traversal).getParent(), "ids cannot leave the state directory");
        assertTrue(Files.isRegularFile(connection.saveFile(id)));
        host.restore(id);
        host.destroy(id);
        host.destroy(traversal);
        assertTrue(host.guests().isEmpty());
    }

    @Test
    void portsAreNeverHandedOutTwiceAndAreRecoveredFromMetadata() throws Exception {
        int port = Fixtures.freePorts(4);
        // metadata as an older appliance wrote it: enough to recognise the domain and its port, not to adopt it
        String recovered = "<domain type='test'><name>vm-old</name><metadata>"
                + "<servicefarm:vm xmlns:servicefarm='" + FarmMetadata.NAMESPACE + "' id='vm-old' host='ports' offering='k' "
                + "image='i'><servicefarm:port service='wiki' guest='80' host='" + (port + 1) + "'/></servicefarm:vm>"
                + "</metadata><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>";
        HostConnection host = connect("ports", Map.of("portRange", Fixtures.range(port, 4)), recovered);

        assertEquals(List.of(new GuestInfo.Unrecorded("vm-old", VmState.ACTIVE, "its farm metadata is incomplete: it "
                + "carries no offering (written by an older appliance?); its vcpus and memoryMiB are missing or "
                + "malformed; its creation time is missing or malformed")), host.guests());
        assertEquals(Map.of("wiki", new Endpoint("127.0.0.1", port + 1)),
                ((LibvirtHostConnection) host).endpoints("vm-old"), "endpoints rebuilt from metadata");
        assertEquals(200, SimulatedAnswers.await(new Endpoint("127.0.0.1", port + 1)).statusCode(),
                "a recovered running guest of a test host answers again");
        host.define(Fixtures.spec("vm-a", Fixtures.http()));
        host.define(Fixtures.spec("vm-b", Fixtures.http()));
        host.define(Fixtures.spec("vm-c", Fixtures.http()));
        assertEquals(List.of(port, port + 2, port + 3), List.of(portOf(host, "vm-a"), portOf(host, "vm-b"),
                portOf(host, "vm-c")), "the second port belongs to the recovered VM");

        HypervisorException full = assertThrows(HypervisorException.class,
                () -> host.define(Fixtures.spec("vm-d", Fixtures.http())));
        assertTrue(full.getMessage().contains("no free port"), full.getMessage());
        assertEquals(VmState.DESTROYED, stateOf(host, "vm-d"), "a refused define leaves nothing behind");

        host.destroy("vm-old");
        host.define(Fixtures.spec("vm-d", Fixtures.http()));
        assertEquals(port + 1, portOf(host, "vm-d"));
    }

    /**
     * After an appliance restart its state table is empty: a new connection reports every farm guest with what the
     * farm recorded on it at define, so that the core adopts it. test:///default is shared by the connections of this
     * process and frees its domains when the last one closes: the driver holds one of its own, so a guest defined
     * through one connection outlives it, however long the next connection takes to come.
     */
    @Test
    void aNewConnectionReportsWhatTheFarmRecordedOnEachGuest() throws Exception {
        int port = Fixtures.freePorts(2);
        Map<String, String> settings = Map.of("portRange", Fixtures.range(port, 2));
        HostConnection before = driver.connect(Fixtures.host("keeper", "test:///default", settings), events::add);
        VmSpec spec = new VmSpec("vm-kept", Fixtures.WIKI, Fixtures.staged(), 2, 384,
                List.of(Fixtures.http(), new VmSpec.GuestService("ssh", 22)), Fixtures.CREATED);
        before.define(spec);
        Map<String, Endpoint> endpoints = before.start("vm-kept");
        before.close(); // the appliance stops; the guest runs on
        // time for libvirt's event loop to release the closed connection (a core restart takes as long)
        Thread.sleep(500);

        HostConnection after = driver.connect(Fixtures.host("keeper", "test:///default", settings), events::add);
        opened.add(after);
        GuestInfo.Recorded guest = assertInstanceOf(GuestInfo.Recorded.class, after.guests().get(0));
        assertEquals(VmState.ACTIVE, guest.state());
        assertEquals(new GuestMetadata("vm-kept", Fixtures.WIKI, spec.image().image().id(), new Capacity(2, 384, 1),
                endpoints, Fixtures.CREATED), guest.metadata());
        assertEquals(Map.of("wiki", new Endpoint("127.0.0.1", port), "ssh", new Endpoint("127.0.0.1", port + 1)),
                endpoints);
        assertEquals(200, SimulatedAnswers.await(endpoints.get("wiki")).statusCode(), "and it answers again");
        after.destroy("vm-kept");
    }

    @Test
    void foreignDomainsAreIgnoredAndLeftAlone() throws Exception {
        String foreign = "<domain type='test'><name>foreign</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                + "<os><type>hvm</type></os></domain>";
        HostConnection host = connect("mixed", Map.of(), foreign);
        host.define(Fixtures.spec("vm-1"));

        assertEquals(List.of("vm-1"), host.guests().stream().map(GuestInfo::vmId).toList());
        HypervisorException refused = assertThrows(HypervisorException.class, () -> host.destroy("foreign"));
        assertTrue(refused.getMessage().contains("not defined by the farm"), refused.getMessage());
        HypervisorException unknown = assertThrows(HypervisorException.class, () -> host.start("foreign"));
        assertTrue(unknown.getMessage().contains("no VM foreign"), unknown.getMessage());
        HypervisorException taken = assertThrows(HypervisorException.class,
                () -> host.define(Fixtures.spec("foreign")));
        assertTrue(taken.getMessage().contains("already defined"), taken.getMessage());
    }

    @Test
    void farmHostsSharingOneLibvirtSeeOnlyTheirOwnDomains() throws Exception {
        HostConnection first = driver.connect(Fixtures.host("first", "test:///default", Map.of()), events::add);
        opened.add(first);
        HostConnection second = driver.connect(Fixtures.host("second", "test:///default", Map.of()), events::add);
        opened.add(second);

        first.define(Fixtures.spec("vm-first"));

        assertEquals(List.of("vm-first"), first.guests().stream().map(GuestInfo::vmId).toList());
        assertTrue(second.guests().isEmpty());
        HypervisorException refused = assertThrows(HypervisorException.class, () -> second.destroy("vm-first"));
        assertTrue(refused.getMessage().contains("belongs to farm host 'first'"), refused.getMessage());
        first.destroy("vm-first");
    }

    @Test
    void theDefaultTestDomainIsNotTheFarms() throws Exception {
        HostConnection host = driver.connect(Fixtures.host("default", "test:///default", Map.of()), events::add);
        opened.add(host);

        assertTrue(host.guests().isEmpty());
        Connect raw = new Connect("test:///default", false);
        try {
            Domain test = raw.domainLookupByName("test");
            test.suspend(); // a foreign domain's events must not reach the farm
            test.resume();
            test.free();
        } finally {
            raw.close();
        }
        host.define(Fixtures.spec("vm-default"));
        host.start("vm-default");
        assertEquals("vm-default", nextEvent().vmId(), "the first event is the farm's own, not the test domain's");
        host.destroy("vm-default");
    }

    @Test
    void changesMadeBehindTheFarmsBackAreReported() throws Exception {
        // test:///default is shared by every connection of the process, so a second one can act behind our back.
        int port = Fixtures.freePorts(1);
        HostConnection host = driver.connect(Fixtures.host("shared", "test:///default",
                Map.of("portRange", Fixtures.range(port, 1))), events::add);
        opened.add(host);
        host.define(Fixtures.spec("vm-w", Fixtures.http()));
        host.start("vm-w");
        assertEquals(VmState.ACTIVE, nextEvent().observed());

        Connect raw = new Connect("test:///default", false);
        try {
            Domain domain = raw.domainLookupByName("vm-w");
            domain.destroy();
            VmEvent stopped = nextEvent();
            assertEquals(VmState.FAILED, stopped.observed(), "a farm VM stopped by someone else no longer serves");
            assertEquals("stopped (destroyed)", stopped.detail());
            assertEquals(VmState.FAILED, stateOf(host, "vm-w"));
            domain.undefine();
            domain.free();
        } finally {
            raw.close();
        }
        assertEquals(VmState.DESTROYED, nextEvent().observed());
        host.define(Fixtures.spec("vm-x", Fixtures.http()));
        assertEquals(port, portOf(host, "vm-x"), "an undefined VM's port is free again");
        host.destroy("vm-x");
    }

    @Test
    void closedConnectionsRefuseWorkAndStopEvents() throws Exception {
        HostConnection host = connect("closing", Map.of());
        host.define(Fixtures.spec("vm-c"));
        host.close();

        HypervisorException e = assertThrows(HypervisorException.class, () -> host.start("vm-c"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        host.close(); // twice is fine
    }

    @Test
    void badHostsAreClearErrorsAndLeaveNothingOpen() throws Exception {
        Path node = Fixtures.nodeFile(dir, "broken", 1, 1024);
        Files.writeString(node, "<node><cpu>");
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> driver.connect(Fixtures.testHost("broken", node, Map.of()), events::add));
        assertTrue(e.getMessage().contains("host broken: cannot connect"), e.getMessage());

        HypervisorException wrongDriver = assertThrows(HypervisorException.class, () -> driver.connect(
                new HostRecord("x", "xapi", "test:///default", new Capacity(1, 1, 1), 0, null, Map.of()), events::add));
        assertTrue(wrongDriver.getMessage().contains("'xapi'"), wrongDriver.getMessage());
    }

    /**
     * The test driver quotes the first line of a node file it cannot parse: that line never reaches a message,
     * nor do control characters. A real libvirt error, from a file inside the allowed directory.
     */
    @Test
    void libvirtErrorsNeverCarryTheContentOfFiles() throws Exception {
        Path node = dir.resolve("secret.xml");
        Files.writeString(node, "root:$y$j9T$SECRET-HASH:19000:0:99999:7:::\nsecond line\n");
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> driver.connect(Fixtures.testHost("leaky", node, Map.of()), events::add));
        String message = e.getMessage();
        assertFalse(message.contains("SECRET") || message.contains("root:") || message.contains("second"), message);
        assertTrue(message.contains("VIR_ERR_XML"), "the code and its description stand for it: " + message);
        assertTrue(message.contains("the XML document is malformed"), message);
        assertTrue(message.chars().noneMatch(Character::isISOControl), message);

        // what libvirt itself says, for comparison: the file's first line
        LibvirtException raw = assertThrows(LibvirtException.class, () -> new Connect("test://" + node, true));
        assertTrue(raw.getError().getMessage().contains("SECRET-HASH"), "libvirt quotes the file: the reason for all this");
        assertFalse(LibvirtErrors.describe(raw).contains("SECRET"));
    }

    @Test
    void libvirtMessagesAreShownWithoutUserInfoOrControlCharacters() {
        assertEquals("cannot reach qemu+ssh://far.example/system: host key\\u000aforged",
                LibvirtErrors.shown("cannot reach qemu+ssh://ops:pw@far.example/system: host key\nforged"));
        assertTrue(LibvirtErrors.shown("x".repeat(5000)).length() <= LibvirtErrors.MAX_LENGTH + 1);
        assertEquals("the XML document is malformed or invalid", LibvirtErrors.description(ErrorNumber.VIR_ERR_XML_DETAIL));
        assertEquals("no domain", LibvirtErrors.description(ErrorNumber.VIR_ERR_NO_DOMAIN));
    }

    @Test
    void validateChecksWithoutConnecting() throws Exception {
        Path node = Fixtures.nodeFile(dir, "checked", 1, 1024);
        driver.validate(Fixtures.testHost("checked", node, Map.of("portRange", "20000-20009")));
        assertEquals("uri", assertThrows(InvalidRequestException.class, () -> driver.validate(
                Fixtures.host("shadow", "test:///etc/shadow", Map.of()))).field());
        assertEquals("uri", assertThrows(InvalidRequestException.class, () -> driver.validate(
                Fixtures.host("ssh", "qemu+ssh://nobody@localhost/system?command=/tmp/x", Map.of()))).field());
        assertEquals("properties.portRange", assertThrows(InvalidRequestException.class, () -> driver.validate(
                Fixtures.testHost("checked", node, Map.of("portRange", "0-70000")))).field());
        assertEquals("driver", assertThrows(InvalidRequestException.class, () -> driver.validate(
                new HostRecord("x", "vmware", "test:///default", new Capacity(1, 1, 1), 0, null, Map.of()))).field());
        // connect applies the same rules
        HypervisorException refused = assertThrows(HypervisorException.class,
                () -> driver.connect(Fixtures.host("shadow", "test:///etc/shadow", Map.of()), events::add));
        assertTrue(refused.getMessage().contains("refused by the libvirt driver"), refused.getMessage());
    }

    @Test
    void deactivationClosesEveryConnectionAndStopsTheEventLoop() throws Exception {
        HostConnection host = connect("stopping", Map.of());
        assertTrue(EventLoop.running());

        driver.deactivate();

        assertFalse(EventLoop.running());
        assertThrows(HypervisorException.class, host::guests);
        driver = Fixtures.driver(dir.resolve("state"), dir); // the loop starts again for the next driver
        assertTrue(EventLoop.running());
        HostConnection again = connect("restarted", Map.of());
        again.define(Fixtures.spec("vm-r"));
        again.start("vm-r");
        assertEquals(VmState.ACTIVE, nextEvent().observed());
        assertNotEquals(host, again);
    }

    // ---- relocation: an archived VM moved between libvirt hosts, arriving archived under the target's ports ----

    /** A host on its own test node (its own libvirt), or on {@code uri} (a libvirt shared with other farm hosts). */
    private HostConnection connect(String name, String uri, int firstPort) throws Exception {
        Map<String, String> ports = Map.of("portRange", Fixtures.range(firstPort, 3));
        if (uri == null) {
            return connect(name, ports);
        }
        HostConnection connection = driver.connect(Fixtures.host(name, uri, ports), events::add);
        opened.add(connection);
        return connection;
    }

    @Test
    void aCompressedArchiveMovesToAnotherLibvirtAndIsRestoredThereOnItsPorts() throws Exception {
        int port = Fixtures.freePorts(6);
        HostConnection alpha = connect("alpha", null, port);
        HostConnection beta = connect("beta", null, port + 3);
        relocateAndRestore(alpha, beta, port, port + 3, ArchiveTier.COMPRESSED);
    }

    @Test
    /** As two farm hosts share one machine's qemu:///system: the definition is handed over in place. */
    void farmHostsSharingOneLibvirtHandTheDomainOver() throws Exception {
        int port = Fixtures.freePorts(6);
        HostConnection first = connect("first", "test:///default", port);
        HostConnection second = connect("second", "test:///default", port + 3);
        relocateAndRestore(first, second, port, port + 3, ArchiveTier.DELTA);
        second.destroy("vm-r");
        assertTrue(first.guests().isEmpty() && second.guests().isEmpty());
    }

    private void relocateAndRestore(HostConnection from, HostConnection to, int fromPort, int toPort, ArchiveTier tier)
            throws Exception {
        VmSpec spec = Fixtures.spec("vm-r", Fixtures.http());
        from.define(spec);
        Endpoint before = from.start("vm-r").get("wiki");
        assertEquals(fromPort, before.port());
        SimulatedAnswers.await(before);
        from.archive("vm-r", tier, 3);

        Archive moved = from.relocate("vm-r", to, spec);
        assertEquals(tier, moved.tier(), "kept in the tier it was in");
        assertTrue(moved.bytes() > 0);
        assertEquals(VmState.DESTROYED, stateOf(from, "vm-r"), "the source reports it no more");
        assertEquals(VmState.ARCHIVED, stateOf(to, "vm-r"));
        assertFalse(Files.exists(dir.resolve("state").resolve(from.host().name()).resolve("vm-r.save")));
        assertFalse(Files.exists(dir.resolve("state").resolve(from.host().name()).resolve("vm-r.save.zst")));
        Path saved = dir.resolve("state").resolve(to.host().name()).resolve(switch (tier) {
            case SAVED -> "vm-r.save";
            case COMPRESSED -> "vm-r.save.zst";
            case DELTA -> "vm-r.save.delta";
        });
        assertEquals(Files.size(saved), moved.bytes());
        SimulatedAnswers.awaitSilence(before);

        Endpoint after = to.restore("vm-r").get("wiki");
        assertEquals(toPort, after.port(), "restored under the target's port");
        assertEquals(VmState.ACTIVE, stateOf(to, "vm-r"));
        assertTrue(SimulatedAnswers.await(after).body().contains("test host " + to.host().name()), "answered by the target");
        String xml = ((LibvirtHostConnection) to).domainXml("vm-r");
        assertTrue(xml.contains("host=\"" + to.host().name() + "\""), xml);
        assertTrue(xml.contains("host=\"" + toPort + "\""), xml);
    }

    @Test
    void onlyAnArchivedVmMovesAndARefusalLeavesItWhereItWas() throws Exception {
        int port = Fixtures.freePorts(6);
        HostConnection alpha = connect("alpha", null, port);
        HostConnection beta = connect("beta", null, port + 3);
        VmSpec spec = Fixtures.spec("vm-x", Fixtures.http());
        alpha.define(spec);
        alpha.start("vm-x");
        HypervisorException running = assertThrows(HypervisorException.class, () -> alpha.relocate("vm-x", beta, spec));
        assertTrue(running.getMessage().contains("is not archived"), running.getMessage());
        assertEquals(VmState.ACTIVE, stateOf(alpha, "vm-x"));
        assertTrue(beta.guests().isEmpty());

        alpha.archive("vm-x", ArchiveTier.SAVED, 3);
        HypervisorException itself = assertThrows(HypervisorException.class, () -> alpha.relocate("vm-x", alpha, spec));
        assertTrue(itself.getMessage().contains("another libvirt host"), itself.getMessage());
        assertEquals(VmState.ARCHIVED, stateOf(alpha, "vm-x"));
        assertEquals(port, alpha.restore("vm-x").get("wiki").port(), "still restorable where it was");
        alpha.destroy("vm-x");
    }
}
