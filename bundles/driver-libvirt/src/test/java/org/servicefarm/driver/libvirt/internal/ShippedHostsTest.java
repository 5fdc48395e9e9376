package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.NodeInfo;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.VmEvent;

/** The three demo hosts shipped in etc/ connect through this driver and describe the same machines twice alike. */
class ShippedHostsTest {

    /** The module runs with its own folder as working directory; etc/ is at the top of the repository. */
    private static final Path ETC = Path.of("../../etc").toAbsolutePath().normalize();

    @TempDir
    Path state;

    @Test
    void shippedHostsConnectAndMatchTheirNodeFiles() throws Exception {
        List<HostRecord> hosts = new ArrayList<>();
        for (String name : List.of("alpha", "beta", "gamma")) {
            hosts.add(read(ETC.resolve("org.servicefarm.host-" + name + ".cfg")));
        }
        Set<Double> costs = new HashSet<>();
        Set<String> zones = new HashSet<>();
        LibvirtDriver driver = Fixtures.driver(state, ETC.resolve("servicefarm").resolve("hosts"));
        List<HostConnection> connections = new ArrayList<>();
        try {
            for (HostRecord host : hosts) {
                HostConnection connection = driver.connect(host, (VmEvent event) -> { });
                connections.add(connection);
                HostSettings settings = ((LibvirtHostConnection) connection).settings();
                assertTrue(settings.bootTimeMs() > 2000, host.name() + ": boot outlasts the default 2 s deadline");
                assertTrue(connection.guests().isEmpty(), host.name() + " starts empty");

                Connect raw = new Connect(settings.libvirtUri(), true);
                try {
                    NodeInfo node = raw.nodeInfo();
                    assertEquals(host.capacity().vcpus(), node.cpus, host.name() + " vCPUs");
                    assertEquals(host.capacity().memoryMiB() * 1024, node.memory, host.name() + " memory (KiB)");
                } finally {
                    raw.close();
                }
                costs.add(host.costPerHour());
                zones.add(host.securityZone());
            }
            assertEquals(3, costs.size(), "each demo host has its own cost");
            assertEquals(Set.of("standard", "high"), zones);

            HostConnection alpha = connections.get(0);
            alpha.define(Fixtures.spec("vm-demo", Fixtures.http()));
            assertEquals(VmState.FAILED, alpha.guests().get(0).state());
        } finally {
            connections.forEach(HostConnection::close);
            driver.deactivate();
        }
    }

    /** Reads a host configuration as the core does: ${karaf.etc} interpolated, hypervisor.* passed on. */
    private static HostRecord read(Path file) throws Exception {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        Map<String, String> driverProperties = new HashMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith("hypervisor.")) {
                driverProperties.put(key.substring("hypervisor.".length()), properties.getProperty(key));
            }
        }
        String uri = properties.getProperty("uri").replace("${karaf.etc}", ETC.toString());
        return new HostRecord(properties.getProperty("name"), properties.getProperty("driver"), uri,
                new Capacity(Integer.parseInt(properties.getProperty("capacity.vcpus")),
                        Long.parseLong(properties.getProperty("capacity.memoryMiB")),
                        Integer.parseInt(properties.getProperty("capacity.vms"))),
                Double.parseDouble(properties.getProperty("costPerHour")), properties.getProperty("securityZone"),
                driverProperties);
    }
}
