package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.support.CommandException;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.testing.ListedFarm;
import org.servicefarm.api.testing.ListedKeepAlive;
import org.servicefarm.api.testing.ListedLeadership;

/** The commands added for the REST capabilities that had none: what each calls, prints, and how it refuses. */
class ShellCommandsTest {

    /** A farm that adds and removes hosts as the manager does: names unique, a host with VMs kept. */
    static final class HostFarm extends ListedFarm {
        final List<HostRecord> registered = new ArrayList<>();
        final List<String> removed = new ArrayList<>();

        @Override
        public HostStatus registerHost(HostRecord host) {
            if (!host.driver().equals("libvirt")) {
                throw new InvalidRequestException("driver", "no driver named '" + host.driver() + "' is installed");
            }
            if (hosts.stream().anyMatch(h -> h.name().equalsIgnoreCase(host.name()))) {
                throw new ConflictException("a host named " + host.name() + " exists");
            }
            registered.add(host);
            HostStatus status = new HostStatus(host, org.servicefarm.api.Capacity.ZERO, true, null);
            hosts.add(status);
            return status;
        }

        /** Hosts whose hypervisor answers when connected. */
        final java.util.Set<String> answering = new java.util.HashSet<>();

        @Override
        public HostStatus connect(String name) {
            HostStatus host = hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                    .orElseThrow(() -> new NotFoundException("no host named " + name));
            return answering.contains(name) ? new HostStatus(host.host(), host.used(), true, null)
                    : new HostStatus(host.host(), host.used(), false, "cannot connect: libvirtd does not answer; "
                    + "trying again in 5 s");
        }

        @Override
        public void unregisterHost(String name) {
            HostStatus host = hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                    .orElseThrow(() -> new NotFoundException("no host named " + name));
            if (vms.stream().anyMatch(vm -> vm.hostId().equals(name))) {
                throw new ConflictException("VMs still occupy host " + name);
            }
            hosts.remove(host);
            removed.add(name);
        }
    }

    private final HostFarm farm = farm();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private static HostFarm farm() {
        HostFarm farm = new HostFarm();
        farm.withDirectory(FarmCompleterTest.directory());
        farm.hosts.add(FarmCompleterTest.host("alpha"));
        farm.vms.add(FarmCompleterTest.vm("sf-1"));
        return farm;
    }

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** The command fails with one plain line, as Karaf shows it, and prints nothing. */
    private String refused(Action command) {
        CommandException e = assertThrows(CommandException.class, command::execute);
        assertEquals("", printed());
        return KarafConsole.shown(e).strip();
    }

    private HostAddCommand hostAdd(String name) {
        HostAddCommand command = new HostAddCommand();
        command.manager = farm;
        command.out = out;
        command.name = name;
        command.driver = "libvirt";
        command.uri = "test:///default";
        command.vcpus = 2;
        command.memoryMiB = 2048L;
        command.vms = 4;
        command.costPerHour = 0.001;
        command.properties = List.of("portRange=23000-23099");
        return command;
    }

    @Test
    void hostAddRegistersTheRecordItsOptionsMake() throws Exception {
        hostAdd("delta").execute();
        HostRecord delta = farm.registered.get(0);
        assertEquals("delta", delta.name());
        assertEquals(2048L, delta.capacity().memoryMiB());
        assertEquals("23000-23099", delta.properties().get("portRange"));
        assertEquals(HostRecord.DEFAULT_SECURITY_ZONE, delta.securityZone());
        assertTrue(printed().startsWith("ADDED delta\n"), printed());
        assertTrue(printed().contains("capacity    2 vCPU, 2048 MiB, 4 VMs"), printed());
    }

    @Test
    void hostAddRefusesBadInputNamingTheOptionAndAddsNothing() {
        assertEquals("Invalid argument NAME: name must be 1-63 letters, digits, '.', '_' or '-', starting with a "
                + "letter or digit, not '<x>'&'", refused(hostAdd("<x>'&")));
        HostAddCommand noMemory = hostAdd("delta");
        noMemory.memoryMiB = null;
        assertEquals("Invalid option --memory-mib: capacity.memoryMiB is required", refused(noMemory));
        HostAddCommand property = hostAdd("delta");
        property.properties = List.of("portRange");
        assertEquals("Invalid option --property: 'portRange' is not KEY=VALUE", refused(property));
        HostAddCommand twice = hostAdd("delta");
        twice.properties = List.of("a=1", "a=2");
        assertEquals("Invalid option --property: properties.a is given twice", refused(twice));
        HostAddCommand badKey = hostAdd("delta");
        badKey.properties = List.of("1a=x");
        assertTrue(refused(badKey).startsWith("Invalid option --property: "), "the key is bounded by HostRecord");
        HostAddCommand driver = hostAdd("delta");
        driver.driver = "xen";
        assertEquals("Invalid option --driver: no driver named 'xen' is installed", refused(driver));
        HostAddCommand zone = hostAdd("delta");
        zone.securityZone = "a zone";
        assertTrue(refused(zone).startsWith("Invalid option --security-zone: "));
        assertEquals("Refused: a host named alpha exists", refused(hostAdd("alpha")));
        assertEquals(List.of(), farm.registered, "nothing was added");
    }

    /** {@code command} on host {@code name}, against the test's farm, printing to the test's output. */
    private <T extends HostArgument> T onHost(T command, String name) {
        command.manager = farm;
        command.out = out;
        command.host = name;
        return command;
    }

    private HostRemoveCommand hostRemove(String name) {
        return onHost(new HostRemoveCommand(), name);
    }

    private HostConnectCommand hostConnect(String name) {
        return onHost(new HostConnectCommand(), name);
    }

    @Test
    void hostConnectSaysWhetherTheHostIsConnectedAndWhyNot() throws Exception {
        assertEquals("Not connected: alpha: cannot connect: libvirtd does not answer; trying again in 5 s",
                refused(hostConnect("alpha")));
        assertEquals("Invalid argument HOST: no host named gamma", refused(hostConnect("gamma")));
        assertEquals("Invalid argument HOST: '../etc\\u000a' is not a host name", refused(hostConnect("../etc\n")));
        farm.answering.add("alpha");
        hostConnect("alpha").execute();
        assertEquals("alpha connected\n", printed());
    }

    @Test
    void hostRemoveRemovesAnEmptyHostAndRefusesTheRest() throws Exception {
        assertEquals("Refused: VMs still occupy host alpha", refused(hostRemove("alpha")));
        assertEquals("Invalid argument HOST: no host named gamma", refused(hostRemove("gamma")));
        assertEquals("Invalid argument HOST: '../etc\\u000a' is not a host name", refused(hostRemove("../etc\n")));
        assertEquals(List.of(), farm.removed);
        farm.vms.clear();
        hostRemove("alpha").execute();
        assertEquals(List.of("alpha"), farm.removed);
        assertEquals("alpha removed\n", printed());
    }

    @Test
    void hostVmAndImageShowOneOrSayThereIsNone() throws Exception {
        HostCommand host = new HostCommand();
        host.manager = farm;
        host.out = out;
        host.host = "nowhere";
        assertEquals("Invalid argument HOST: no host named nowhere", refused(host));
        host.host = "alpha";
        host.execute();
        assertTrue(printed().startsWith("alpha\n  driver      libvirt\n"), printed());
        assertTrue(printed().contains("connected   yes"), printed());

        VmCommand vm = new VmCommand();
        vm.manager = farm;
        vm.out = out;
        vm.vmId = "sf-\u001b[2J";
        bytes.reset();
        assertEquals("Invalid argument VM: no VM with id sf-\\u001b[2J", refused(vm));
        vm.vmId = "sf-1";
        vm.execute();
        assertTrue(printed().startsWith("sf-1: ACTIVE on alpha\n"), printed());
        assertTrue(printed().contains("endpoint    127.0.0.1:22000"), printed());

        ImageStatus ready = BuildCommandTest.status(ImageStatus.State.READY, ImageStatus.Progress.done(100), null);
        ImageCommand image = new ImageCommand();
        image.images = images(ready);
        image.out = out;
        image.id = "nope";
        bytes.reset();
        assertEquals("Invalid argument IMAGE: no image with id nope", refused(image));
        image.id = ready.id();
        image.execute();
        assertTrue(printed().startsWith(ready.id() + ": READY PREBUILT\n"), printed());
        assertTrue(printed().contains("components  os/debian-12/12 server/nginx/1.22"), printed());
    }

    private static ImageService images(ImageStatus image) {
        return new ImageService() {
            @Override
            public List<ComponentInfo> components() {
                return List.of();
            }

            @Override
            public List<ImageStatus> images() {
                return List.of(image);
            }

            @Override
            public Optional<ImageStatus> image(String id) {
                return image.id().equals(id) ? Optional.of(image) : Optional.empty();
            }

            @Override
            public BuildOutcome build(org.servicefarm.api.ServiceRequest request) {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<Demand> popularity() {
                return List.of();
            }
        };
    }

    @Test
    void anUnknownArchiveTierIsRefusedAsTheRestApiRefusesIt() {
        ArchiveCommand command = new ArchiveCommand();
        command.manager = farm;
        command.out = out;
        command.vmId = "sf-a";
        command.tier = "frozen";
        CommandException refused = assertThrows(CommandException.class, command::execute);
        assertEquals("Invalid option --tier: unknown archive tier 'frozen'; one of [SAVED, COMPRESSED, DELTA]",
                refused.getMessage());
        assertEquals("", printed());
    }

    @Test
    void anArchiveIsSaidOnceThoughItsDetailNamesItToo() throws Exception {
        VmRecord archived = FarmCompleterTest.vm("sf-a").withState(VmState.ARCHIVED, "archived by the operator "
                + "(SAVED, 1014 bytes)").withArchive(new org.servicefarm.api.Archive(ArchiveTier.SAVED, 1014, 1014));
        ArchiveCommand command = new ArchiveCommand();
        command.manager = new org.servicefarm.api.testing.ListedFarm() {
            @Override
            public VmRecord archive(String vmId, ArchiveTier tier) {
                return archived;
            }
        };
        command.out = out;
        command.vmId = "sf-a";
        command.execute();
        assertEquals("sf-a on alpha: ARCHIVED: archived by the operator (SAVED, 1014 bytes)\n", printed());

        bytes.reset();
        VmRecord moved = archived.withState(VmState.ARCHIVED, "compressed by the keep-alive policy");
        command.manager = new org.servicefarm.api.testing.ListedFarm() {
            @Override
            public VmRecord archive(String vmId, ArchiveTier tier) {
                return moved;
            }
        };
        command.execute();
        assertEquals("sf-a on alpha: ARCHIVED (SAVED, 1014 bytes): compressed by the keep-alive policy\n", printed());
    }

    @Test
    void vmsListsTheTableOfOneStateOrHostIfAsked() throws Exception {
        farm.vms.add(FarmCompleterTest.vm("sf-a"));
        farm.vms.add(FarmCompleterTest.vm("sf-b").withState(VmState.SLEEPING, "idle"));
        farm.vms.add(FarmCompleterTest.vm("sf-c").withHost("beta"));
        VmsCommand command = new VmsCommand();
        command.manager = farm;
        command.out = out;
        command.execute();
        assertTrue(printed().contains("sf-a") && printed().contains("sf-b") && printed().contains("sf-c"), printed());
        bytes.reset();
        command.state = "sleeping";
        command.execute();
        assertTrue(printed().contains("sf-b") && !printed().contains("sf-a"), printed());
        bytes.reset();
        command.state = null;
        command.host = "beta";
        command.execute();
        assertTrue(printed().contains("sf-c") && !printed().contains("sf-a"), printed());
        bytes.reset();
        command.host = null;
        command.state = "running";
        CommandException refused = assertThrows(CommandException.class, command::execute);
        assertTrue(refused.getMessage().startsWith("Invalid option --state: unknown VM state 'running'; one of "
                + "[CREATING,"), refused.getMessage());
        assertEquals("", printed(), "a refusal prints no table");
        assertEquals(java.util.Arrays.stream(VmState.values()).map(Enum::name).toList(), List.of(VmsCommand.class
                .getDeclaredField("state").getAnnotation(org.apache.karaf.shell.api.action.Completion.class).values()),
                "--state completes every state");
    }

    @Test
    void keepAliveShowsThePolicyInForceAndWhenItWantsEachCombinationInMemory() {
        Instant last = Instant.parse("2026-11-26T10:00:00Z");
        Offering wiki = new Offering("wiki", "2.1", new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()),
                "standard");
        Offering blog = new Offering("blog", "5.4", new Environment("debian-12", "nginx-1.22", "python-3.11",
                List.of()), "standard");
        KeepaliveCommand command = new KeepaliveCommand();
        command.out = out;
        command.clock = Clock.fixed(last.plusSeconds(300), ZoneOffset.UTC);
        command.keepAlive = new ListedKeepAlive("adaptive",
                new KeepAliveOutlook(wiki, last, 12, last.plusSeconds(450), last.plusSeconds(510),
                        "learned from its idle times: in memory from 7 min 45 s to 8 min 30 s after a request"),
                new KeepAliveOutlook(blog, last, 2, last, last.plusSeconds(14_400), "too few idle times"));
        command.execute();
        String[] lines = printed().split("\n");
        assertEquals("Keep-alive policy in force: adaptive", lines[0]);
        String wikiRow = java.util.Arrays.stream(lines).filter(l -> l.startsWith("wiki")).findFirst().orElseThrow();
        assertTrue(wikiRow.contains("5m ago") && wikiRow.contains("in 2m, for 1m")
                && wikiRow.contains("7 min 45 s to 8 min 30 s"), printed());
        String blogRow = java.util.Arrays.stream(lines).filter(l -> l.startsWith("blog")).findFirst().orElseThrow();
        assertTrue(blogRow.contains("now, 3h more"), printed());

        bytes.reset();
        command.service = "blog";
        command.execute();
        assertTrue(printed().contains("blog") && !printed().contains("wiki"), "blog's only: " + printed());
        bytes.reset();
        command.service = "shop";
        command.execute();
        assertTrue(printed().contains("No combination of shop learned."), printed());
        command.service = null;

        bytes.reset();
        command.keepAlive = new ListedKeepAlive("fixed");
        command.execute();
        assertTrue(printed().contains("No combination learned (the 'fixed' policy keeps no plan per combination"),
                printed());
        bytes.reset();
        command.keepAlive = new ListedKeepAlive(null);
        command.execute();
        assertTrue(printed().startsWith("No keep-alive policy in force: VMs stay as they are"), printed());
    }

    @Test
    void statusSaysWhatRestsStatusSays() {
        StatusCommand status = new StatusCommand();
        status.manager = farm;
        status.leadership = new ListedLeadership("east", "west");
        String text = status.status(List.of(List.of("dns", "udp://127.0.0.1:5353"), List.of("rest",
                "http://127.0.0.1:8181/api/v1")), List.of(new RefusedConfiguration("org.servicefarm.catalog",
                "rule 'typo': 'needs' is not requires or conflicts", "the settings before it stay in force",
                Instant.parse("2026-11-27T18:39:42.176Z"))), "PostgreSQL 16.4 at jdbc:postgresql://db:5432/farm");
        assertEquals("""
                  appliance   east, led by west
                  store       PostgreSQL 16.4 at jdbc:postgresql://db:5432/farm
                  hosts       1
                  live VMs    1
                  front ends  dns        udp://127.0.0.1:5353
                              rest       http://127.0.0.1:8181/api/v1
                  refused     org.servicefarm.catalog since 2026-11-27T18:39:42Z: rule 'typo': 'needs' is not \
                requires or conflicts; the settings before it stay in force
                """, text);
    }

    static final String SCRAPE = """
            # HELP servicefarm_keepalive_decisions_total keep-alive decisions
            # TYPE servicefarm_keepalive_decisions_total counter
            servicefarm_keepalive_decisions_total{decision="KEEP",policy="fixed"} 3.0
            # HELP servicefarm_request_seconds time to answer
            # TYPE servicefarm_request_seconds histogram
            servicefarm_request_seconds_bucket{outcome="GRANTED",le="+Inf"} 2
            servicefarm_request_seconds_count{outcome="GRANTED"} 2
            servicefarm_request_seconds_sum{outcome="GRANTED"} 6.4
            # HELP servicefarm_request_seconds_max longest
            # TYPE servicefarm_request_seconds_max gauge
            servicefarm_request_seconds_max{outcome="GRANTED"} 3.2
            """;

    @Test
    void metricsPrintsTheScrapeWholeOrTheFamiliesNamed() throws Exception {
        MetricsCommand metrics = new MetricsCommand();
        metrics.out = out;
        assertEquals("No metrics: the metrics bundle is not installed (feature servicefarm-metrics)",
                refused(metrics));
        metrics.metrics = () -> SCRAPE;
        metrics.execute();
        assertEquals(SCRAPE, printed());

        bytes.reset();
        metrics.names = List.of("servicefarm_request_seconds");
        metrics.execute();
        assertEquals("""
                # HELP servicefarm_request_seconds time to answer
                # TYPE servicefarm_request_seconds histogram
                servicefarm_request_seconds_bucket{outcome="GRANTED",le="+Inf"} 2
                servicefarm_request_seconds_count{outcome="GRANTED"} 2
                servicefarm_request_seconds_sum{outcome="GRANTED"} 6.4
                """, printed(), "not the _max gauge: a family of its own");

        bytes.reset();
        metrics.names = List.of("servicefarm_keepalive_decisions_total", "servicefarm_vms");
        assertEquals("Invalid argument METRIC: no metric named servicefarm_vms (TAB completes the names)",
                refused(metrics));
        assertEquals(List.of("servicefarm_keepalive_decisions_total", "servicefarm_request_seconds",
                "servicefarm_request_seconds_max"), MetricsCommand.families(SCRAPE));
        assertEquals("servicefarm_keepalive_decisions_total{decision=\"KEEP\",policy=\"fixed\"} 3.0\n",
                MetricsCommand.only(SCRAPE, Set.of("servicefarm_keepalive_decisions_total")).lines().skip(2)
                        .findFirst().orElseThrow() + "\n");
    }

    @Test
    void nativesListsTheServicesHostsRunThemselvesAndTheirGrantNamesNoVm() throws Exception {
        Offering wiki = new Offering("wiki", "2.1", new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()),
                "standard");
        NativeService s140 = new NativeService("s140-wiki", "s140", wiki, new Endpoint("10.0.0.140", 8080), "standard");
        NativeService s145 = new NativeService("s145-wiki", "s145", wiki, new Endpoint("s145.example.org", 80), "standard");
        ListedFarm withNatives = new ListedFarm() {
            @Override
            public List<NativeServiceStatus> natives() {
                return List.of(new NativeServiceStatus(s140, true, null, Instant.parse("2026-11-27T21:00:00Z"), 3),
                        new NativeServiceStatus(s145, false, "s145.example.org:80 did not answer: connection refused",
                                Instant.parse("2026-11-27T21:01:00Z"), 0));
            }
        };
        PrintStream stdout = System.out;
        System.setOut(out);
        try {
            NativesCommand natives = new NativesCommand();
            natives.manager = withNatives;
            natives.execute();
        } finally {
            System.setOut(stdout);
        }
        assertTrue(printed().lines().anyMatch(l -> l.matches("s140-wiki\\s+\\|?\\s*s140\\s+\\|?\\s*wiki@2\\.1/debian-12/nginx-1\\.22/php-8\\.2"
                + "\\[standard]\\s+\\|?\\s*10\\.0\\.0\\.140:8080\\s+\\|?\\s*standard\\s+\\|?\\s*yes\\s+\\|?\\s*"
                + "2026-11-27T21:00:00Z\\s+\\|?\\s*3\\s*")), printed());
        assertTrue(printed().contains("no: s145.example.org:80 did not answer: connection refused"), printed());

        String granted = Formats.outcome(ServiceRequest.of("wiki"), new Outcome.Granted(s140.endpoint(), null, "s140",
                Activation.NATIVE, wiki, List.of(), java.time.Duration.ofMillis(2)));
        assertTrue(granted.startsWith("GRANTED wiki at 10.0.0.140:8080\n"), granted);
        assertTrue(granted.lines().noneMatch(l -> l.strip().startsWith("vm ")), granted);
        assertTrue(granted.lines().anyMatch(l -> l.matches("\\s*activation\\s+NATIVE")), granted);
    }

    @Test
    void nativeAddNamesTheOptionARefusalIsAboutAndNativeRemoveTheName() throws Exception {
        List<NativeService> added = new ArrayList<>();
        ListedFarm natives = new ListedFarm() {
            @Override
            public NativeServiceStatus registerNative(NativeService service) {
                if (service.name().equals("taken")) {
                    throw new ConflictException("a native service named taken exists");
                }
                added.add(service);
                return new NativeServiceStatus(service, false, "not probed yet", null, 0);
            }

            @Override
            public void unregisterNative(String name) {
                if (!name.equals("s140-wiki")) {
                    throw new NotFoundException("no native service named " + name);
                }
            }
        };
        NativeAddCommand add = nativeAdd(natives, "s140-wiki");
        add.out = out;
        add.execute();
        assertEquals("ADDED s140-wiki (wiki@2.1/debian-12/nginx-1.22/php-8.2[standard] on s140) at 10.0.0.140:8080, "
                + "not answering yet: not probed yet\n", printed());
        assertEquals("standard", added.get(0).securityZone());

        NativeAddCommand badAddress = nativeAdd(natives, "s141");
        badAddress.address = "10.0.0.1;reboot";
        String refusedAddress = assertThrows(CommandException.class, badAddress::execute).getMessage();
        assertTrue(refusedAddress
                .startsWith("Invalid option --address: address must be a DNS name or an IP address"), refusedAddress);
        NativeAddCommand noOs = nativeAdd(natives, "s142");
        noOs.os = null;
        assertEquals("Invalid option --os: environment.os is required",
                assertThrows(CommandException.class, noOs::execute).getMessage());
        NativeAddCommand tiered = nativeAdd(natives, "s143");
        tiered.tier = "gold";
        assertTrue(assertThrows(CommandException.class, tiered::execute).getMessage().startsWith("Invalid option --tier"));
        assertEquals("Refused: a native service named taken exists",
                assertThrows(CommandException.class, nativeAdd(natives, "taken")::execute).getMessage());
        assertEquals(1, added.size(), "nothing passed on for a refusal");

        NativeRemoveCommand remove = new NativeRemoveCommand();
        remove.manager = natives;
        remove.name = "s999";
        assertEquals("Invalid argument NAME: no native service named s999",
                assertThrows(CommandException.class, remove::execute).getMessage());
    }

    private static NativeAddCommand nativeAdd(LocalServiceManager manager, String name) {
        NativeAddCommand add = new NativeAddCommand();
        add.manager = manager;
        add.name = name;
        add.host = "s140";
        add.address = "10.0.0.140";
        add.port = 8080;
        add.service = "wiki";
        add.version = "2.1";
        add.os = "debian-12";
        add.server = "nginx-1.22";
        add.runtime = "php-8.2";
        return add;
    }

    @Test
    void catalogAndRulesListTheDirectory() throws Exception {
        PrintStream stdout = System.out;
        System.setOut(out);
        try {
            CatalogCommand catalog = new CatalogCommand();
            catalog.manager = farm;
            catalog.execute();
        } finally {
            System.setOut(stdout);
        }
        assertTrue(printed().lines().anyMatch(l -> l.matches("APPLICATION\\s+\\|?\\s*wiki\\s+\\|?\\s*2\\.1\\s*")),
                printed());
        assertTrue(printed().lines().anyMatch(l -> l.matches("OS\\s+\\|?\\s*debian-12\\s+\\|?\\s*-\\s*")), printed());

        bytes.reset();
        farm.withDirectory(new DirectoryWithRules());
        RulesCommand rules = new RulesCommand();
        rules.manager = farm;
        rules.out = out;
        rules.execute();
        assertEquals("Security levels: standard, high\nRules:\n  php needs debian\n", printed());
    }

    /** A directory with one rule. */
    private static final class DirectoryWithRules implements org.servicefarm.api.DirectoryView {
        @Override
        public org.servicefarm.api.Resolution resolve(org.servicefarm.api.ServiceRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<org.servicefarm.api.Offering> offerings(int limit) {
            return List.of();
        }

        @Override
        public List<org.servicefarm.api.CatalogComponent> components() {
            return List.of();
        }

        @Override
        public List<String> rules() {
            return List.of("php needs debian");
        }

        @Override
        public List<String> securityLevels() {
            return List.of("standard", "high");
        }
    }

    @Test
    void auditReadsThePageAfterAnId() throws Exception {
        List<String> asked = new ArrayList<>();
        org.servicefarm.api.audit.AuditTrail trail = (org.servicefarm.api.audit.AuditTrail) java.lang.reflect.Proxy
                .newProxyInstance(getClass().getClassLoader(), new Class<?>[] {org.servicefarm.api.audit.AuditTrail.class},
                        (proxy, method, args) -> {
                            if (!method.getName().equals("entries")) {
                                throw new UnsupportedOperationException(method.getName());
                            }
                            asked.add(args[0] + " " + args[1] + " " + args[2]);
                            return List.of(new org.servicefarm.api.audit.AuditEntry(8, Instant.EPOCH, "east", "admin",
                                    "request", "wiki", "GRANTED", null));
                        });
        AuditCommand audit = new AuditCommand();
        audit.trail = trail;
        audit.after = 7;
        audit.limit = 10;
        PrintStream stdout = System.out;
        System.setOut(out);
        try {
            audit.execute();
        } finally {
            System.setOut(stdout);
        }
        assertEquals(List.of("null 7 10"), asked);
        assertTrue(printed().contains("GRANTED"), printed());
        bytes.reset();
        audit.after = -1;
        assertEquals("Invalid option --after: after must be from 0 to 9223372036854775807, not -1", refused(audit));
    }

    @Test
    void eventsPrintsVmChangesAndAnswersWhileItsListenerIsRegistered() throws Exception {
        List<String> calls = new ArrayList<>();
        org.osgi.framework.ServiceRegistration<?> registration = (org.osgi.framework.ServiceRegistration<?>)
                java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                        new Class<?>[] {org.osgi.framework.ServiceRegistration.class}, (proxy, method, args) -> {
                            calls.add(method.getName());
                            return null;
                        });
        org.osgi.framework.BundleContext context = (org.osgi.framework.BundleContext) java.lang.reflect.Proxy
                .newProxyInstance(getClass().getClassLoader(), new Class<?>[] {org.osgi.framework.BundleContext.class},
                        (proxy, method, args) -> {
                            assertEquals("registerService", method.getName());
                            calls.add("register");
                            org.servicefarm.api.FarmListener listener = (org.servicefarm.api.FarmListener) args[1];
                            // the farm changes as soon as the listener is there
                            listener.vmChanged(FarmCompleterTest.vm("sf-1"));
                            listener.answered(org.servicefarm.api.ServiceRequest.of("wiki"),
                                    new org.servicefarm.api.Outcome.Never("no such service", java.time.Duration.ZERO));
                            listener.vmChanged(FarmCompleterTest.vm("sf-2"));
                            return registration;
                        });
        EventsCommand events = new EventsCommand();
        events.context = context;
        events.out = out;
        events.clock = java.time.Clock.fixed(Instant.parse("2026-11-26T07:00:00.250Z"), java.time.ZoneOffset.UTC);
        events.count = 2;
        events.execute();
        assertEquals("07:00:00.250 vm      sf-1 ACTIVE on alpha  wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]\n"
                + "07:00:00.250 answer  NEVER wiki: no such service\n", printed());
        assertEquals(List.of("register", "unregister"), calls, "registered only while it runs");

        events.count = 0;
        bytes.reset();
        assertEquals("Invalid option --count: count must be at least 1, not 0", refused(events));
        events.count = null;
        events.seconds = -1;
        assertEquals("Invalid option --for: for must be at least 1 second, not -1", refused(events));
    }
}
