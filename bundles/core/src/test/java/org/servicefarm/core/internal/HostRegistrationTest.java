package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEventListener;

/**
 * Hosts added at run time: the driver must be installed and accept the host, the name must be free
 * regardless of case, and on any refusal nothing is persisted and nothing connects. Hosts from
 * configuration files are held to the driver's rules too, and what a driver says is shown safely.
 */
class HostRegistrationTest {

    private final Farm farm = new Farm(Map.of());

    @AfterEach
    void stop() {
        farm.close();
    }

    private static HostRecord host(String name, String driver, String uri, Map<String, String> properties) {
        return new HostRecord(name, driver, uri, new Capacity(4, 4096, 4), 0.2, "standard", properties);
    }

    /** Registers and asserts the refusal changed nothing: no configuration written, no connection, no new host. */
    private InvalidRequestException refused(HostRecord host) {
        int hosts = farm.hosts.statuses().size();
        int connects = farm.hypervisor.connects.get();
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> farm.manager.registerHost(host));
        assertEquals(0, farm.configurations.writes.get(), "nothing persisted");
        assertEquals(connects, farm.hypervisor.connects.get(), "nothing connected");
        assertEquals(hosts, farm.hosts.statuses().size(), "no host added");
        return e;
    }

    @Test
    void anAcceptedHostIsCheckedPersistedAndConnected() {
        int validations = farm.hypervisor.validations.get();
        HostStatus added = farm.manager.registerHost(host("delta", "fake", "fake:///delta", Map.of("slow", "1")));
        assertTrue(added.connected(), String.valueOf(added.detail()));
        assertEquals(1, farm.configurations.writes.get());
        assertTrue(farm.hypervisor.validations.get() > validations, "the driver checked it");
        assertEquals("fake:///delta", farm.configurations.saved.get("org.servicefarm.host~delta").get("uri"));
    }

    @Test
    void aDriverThatIsNotInstalledIsRefusedNamingTheInstalledOnes() {
        InvalidRequestException e = refused(host("delta", "vmware", "vmware:///x", Map.of()));
        assertEquals("driver", e.field());
        assertTrue(e.getMessage().contains("'vmware' is not installed") && e.getMessage().contains("[fake]"),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "test:///etc/shadow", "qemu+ssh://nobody@localhost/system?command=/x"})
    void aUriTheDriverRefusesIsRefusedBeforeAnythingIsSaved(String uri) {
        assertEquals("uri", refused(host("delta", "fake", uri, Map.of())).field());
    }

    @Test
    void aPropertyTheDriverRefusesIsRefusedNamingIt() {
        assertEquals("properties.bogus", refused(host("delta", "fake", "fake:///d", Map.of("bogus", "1"))).field());
    }

    @Test
    void namesAreUniqueRegardlessOfCase() {
        ConflictException configured = assertThrows(ConflictException.class,
                () -> farm.manager.registerHost(host("SMALL", "fake", "fake:///x", Map.of())));
        assertTrue(configured.getMessage().contains("as small"), configured.getMessage());

        farm.manager.registerHost(host("delta", "fake", "fake:///delta", Map.of()));
        assertThrows(ConflictException.class, () -> farm.manager.registerHost(host("Delta", "fake", "fake:///d2", Map.of())));
        assertThrows(ConflictException.class, () -> farm.manager.registerHost(host("delta", "fake", "fake:///d3", Map.of())));
        assertEquals(1, farm.configurations.writes.get(), "only the first was saved");
        assertEquals(1, farm.hosts.statuses().stream().filter(s -> s.name().equalsIgnoreCase("delta")).count());
    }

    @Test
    void aPersistedConfigurationCountsEvenBeforeItsHostIsKnown() throws Exception {
        // a configuration whose component did not activate (its capacity breaks HostRecord's rules)
        assertThrows(InvalidRequestException.class, () -> farm.configurations.configureFile("epsilon",
                Map.of("name", "epsilon", "driver", "fake", "uri", "fake:///e", "capacity.vcpus", 0)));
        assertFalse(farm.host("epsilon").isPresent());
        assertThrows(ConflictException.class,
                () -> farm.manager.registerHost(host("EPSILON", "fake", "fake:///e", Map.of())));
    }

    @Test
    void aConfiguredHostTheDriverRefusesIsNotConnectedAndSaysWhy() throws Exception {
        int connects = farm.hypervisor.connects.get();
        farm.configurations.configureFile("zeta", Map.of("name", "zeta", "driver", "fake", "uri", "test:///etc/shadow"));
        Farm.await("zeta's refusal", () -> farm.host("zeta").map(s -> s.detail() != null
                && !s.detail().equals("connecting")).orElse(false));
        HostStatus zeta = farm.host("zeta").orElseThrow();
        assertFalse(zeta.connected());
        assertEquals("refused by driver fake: the fake driver takes fake:/// URIs only", zeta.detail());
        assertEquals(connects, farm.hypervisor.connects.get());
        assertThrows(HypervisorException.class, () -> farm.hosts.connection("zeta"));
    }

    @Test
    void aSecondConfigurationOfTheSameNameInAnotherCaseIsIgnored() {
        farm.addHost("LARGE", 8, 0.01, "standard");
        List<HostStatus> large = farm.hosts.statuses().stream().filter(s -> s.name().equalsIgnoreCase("large")).toList();
        assertEquals(1, large.size());
        assertEquals("large", large.get(0).name());
        assertEquals(0.50, large.get(0).host().costPerHour());
    }

    @Test
    void whatADriverSaysIsShownBoundedAndEscaped() {
        String hostile = "no route\n2026-01-01 INFO forged log line\u0000\u001b[31m" + "x".repeat(5000);
        farm.hosts.addDriver(new HypervisorDriver() {
            @Override
            public void validate(HostRecord host) {
            }

            @Override
            public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
                throw new HypervisorException(hostile);
            }
        }, Map.of(HypervisorDriver.NAME, "evil"));
        HostStatus status = farm.manager.registerHost(host("omega", "evil", "evil:///o", Map.of()));
        assertFalse(status.connected());
        String detail = status.detail();
        assertTrue(detail.startsWith("cannot connect: no route\\u000a2026"), detail);
        assertTrue(detail.chars().noneMatch(Character::isISOControl), detail);
        // the excerpt, "cannot connect: " before it and "; trying again in 5 s" after it (10 s when the driver's
        // arrival and the host's each made an attempt: both are queued on the host's lane)
        assertTrue(detail.length() < HostRegistry.DETAIL_LENGTH + 60, "bounded: " + detail.length());
        assertTrue(detail.matches("(?s).*; trying again in (5|10) s"), detail);
    }
    @Test
    void aHostWhoseConnectHangsHoldsUpNoOtherHostIsGivenUpOnAndCanBeRemoved() throws Exception {
        java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        farm.hosts.addDriver(new HypervisorDriver() {
            @Override
            public void validate(HostRecord host) {
            }

            @Override
            public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
                calls.incrementAndGet();
                try { // a remote host that accepts TCP and never answers: libvirt's connect waits for ever
                    answer.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return farm.hypervisor.connect(host, events);
            }
        }, Map.of(HypervisorDriver.NAME, "far"));
        farm.hosts.registrationWait = java.time.Duration.ofMillis(200);
        farm.hosts.connectWait = java.time.Duration.ofSeconds(1);
        int connected;
        try {
            HostStatus faraway = farm.manager.registerHost(host("faraway", "far", "fake:///faraway", Map.of()));
            assertFalse(faraway.connected());
            assertEquals("connecting", faraway.detail(), "added, and said to be connecting");

            long start = System.nanoTime();
            HostStatus nearby = farm.manager.registerHost(host("nearby", "fake", "fake:///nearby", Map.of()));
            assertTrue(nearby.connected(), "not held up by faraway: " + nearby.detail());
            assertTrue(farm.manager.drain("nearby", true).drained(), "drained while faraway still connects");
            assertTrue(System.nanoTime() - start < 5_000_000_000L);

            Farm.await("faraway to be given up on", () -> farm.hosts.status("faraway").orElseThrow().detail()
                    .equals("cannot connect: no answer within 1 s; trying again in 5 s"));
            farm.hosts.watchConnections(System.nanoTime() + 3_600_000_000_000L).get();
            assertEquals("cannot connect: its connect of more than 1 s ago has not ended (the host does not answer); "
                    + "trying again in 10 s", farm.hosts.status("faraway").orElseThrow().detail());
            assertEquals(1, calls.get(), "no second connect while the first has not ended");

            farm.manager.unregisterHost("faraway");
            Farm.await("faraway to be gone", () -> farm.hosts.statuses().stream()
                    .noneMatch(h -> h.name().equals("faraway") && h.host() != null));
            connected = farm.hypervisor.connects.get();
        } finally {
            answer.countDown(); // it answers at last
        }
        Farm.await("the late connection to be made and closed", () -> farm.hypervisor.connects.get() > connected
                && !farm.hypervisor.listeners.containsKey("faraway"));
        assertEquals(1, calls.get());
    }
}
