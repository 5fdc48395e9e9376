package org.servicefarm.driver.libvirt.internal;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorDriverName;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code libvirt} hypervisor driver: each host is its own libvirt connection ({@code test:///<node file>}
 * for emulated hosts, {@code qemu:///system} for QEMU guests). See {@link HostSettings} for the per-host
 * {@code hypervisor.*} properties it reads, {@link HostRules} for the libvirt URIs a host may name (an
 * allow-list from {@link LibvirtDriverConfig}) and {@link LibvirtHostConnection} for what a connection does.
 * <p>
 * Immediate: the driver stays active while its bundle runs, not only while a core uses it, so that what it holds
 * for hosts (the event loop, {@code test:///default}'s state) outlives a restart of the core.
 */
@Component(service = HypervisorDriver.class, configurationPid = LibvirtDriver.PID, immediate = true)
@Designate(ocd = LibvirtDriverConfig.class)
@HypervisorDriverName(LibvirtDriver.NAME)
public final class LibvirtDriver implements HypervisorDriver {

    static final String NAME = "libvirt";
    static final String PID = "org.servicefarm.driver.libvirt";
    static final String DEFAULT_STATE_DIR = "${karaf.data}/servicefarm/libvirt";

    private static final Logger LOG = LoggerFactory.getLogger(LibvirtDriver.class);

    private final Set<LibvirtHostConnection> connections = ConcurrentHashMap.newKeySet();
    private volatile Path stateDirectory;
    private volatile HostRules rules;
    private volatile EventDispatcher dispatcher;
    private volatile SimulatedGuests simulatedGuests;
    /**
     * libvirt's {@code test:///default} keeps its domains only while a connection to it is open, and frees them when
     * the last one closes. The driver holds one of its own from the first host on it until it is deactivated, so
     * that those hosts' guests outlive their connections (a restart of the core closes them and connects again),
     * as a hypervisor's guests outlive its clients. Without it they survived or vanished by how soon libvirt's event
     * loop released the closed connection.
     */
    private Connect testDefault;

    @Activate
    void activate(LibvirtDriverConfig config) throws LibvirtException {
        stateDirectory = resolveStateDirectory(config.stateDir());
        rules = HostRules.from(config);
        try {
            EventLoop.acquire();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IllegalStateException("the native libvirt library is missing: install the Debian package "
                    + "libvirt0 (apt-get install libvirt0); cause: " + e, e);
        }
        dispatcher = new EventDispatcher();
        simulatedGuests = new SimulatedGuests();
        LOG.info("libvirt driver ready; saved VM state goes under {}; test node files from {}", stateDirectory,
                rules.nodeDirectory().map(Path::toString).orElse("nowhere"));
    }

    @Deactivate
    void deactivate() {
        for (LibvirtHostConnection connection : List.copyOf(connections)) {
            connection.close();
        }
        releaseTestDefault();
        EventDispatcher current = dispatcher;
        dispatcher = null;
        rules = null;
        if (current != null) {
            current.close();
        }
        SimulatedGuests guests = simulatedGuests;
        simulatedGuests = null;
        if (guests != null) {
            guests.close();
        }
        EventLoop.release();
    }

    @Override
    public void validate(HostRecord host) {
        settings(host);
    }

    /** The host's settings, checked against this driver's rules; connects to nothing. */
    private HostSettings settings(HostRecord host) {
        HostRules current = rules;
        if (current == null) {
            throw new IllegalStateException("the libvirt driver is not active");
        }
        if (!NAME.equals(host.driver())) {
            throw new InvalidRequestException("driver", "host " + host.name() + " names driver '"
                    + Names.excerpt(host.driver()) + "', not '" + NAME + "'");
        }
        return HostSettings.of(host, current);
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
        EventDispatcher current = dispatcher;
        if (current == null) {
            throw new HypervisorException("the libvirt driver is not active");
        }
        HostSettings settings;
        try {
            settings = settings(host);
        } catch (InvalidRequestException e) {
            throw new HypervisorException("host " + host.name() + " is refused by the libvirt driver: "
                    + e.getMessage());
        }
        if (HostRules.TEST_DEFAULT.equals(settings.libvirtUri())) {
            holdTestDefault(host);
        }
        LibvirtHostConnection connection = LibvirtHostConnection.open(host, settings, stateDirectory, current,
                simulatedGuests, closed -> {
                    connections.remove(closed);
                    current.unregister(closed);
                });
        current.register(connection, events);
        connections.add(connection);
        return connection;
    }

    private synchronized void holdTestDefault(HostRecord host) throws HypervisorException {
        if (testDefault == null) {
            try {
                testDefault = new Connect(HostRules.TEST_DEFAULT, false);
            } catch (LibvirtException e) {
                throw new HypervisorException("host " + host.name() + ": cannot connect to " + HostRules.TEST_DEFAULT
                        + ": " + LibvirtErrors.describe(e), e);
            }
        }
    }

    private synchronized void releaseTestDefault() {
        if (testDefault != null) {
            try {
                testDefault.close();
            } catch (LibvirtException e) {
                LOG.debug("closing the driver's own connection to {} failed: {}", HostRules.TEST_DEFAULT,
                        LibvirtErrors.describe(e));
            }
            testDefault = null;
        }
    }

    /** Replaces {@code ${karaf.data}} by the system property, or by java.io.tmpdir outside Karaf. */
    static Path resolveStateDirectory(String configured) {
        String text = configured == null || configured.isBlank() ? DEFAULT_STATE_DIR : configured.trim();
        String karafData = System.getProperty("karaf.data");
        String base = karafData != null && !karafData.isBlank() ? karafData : System.getProperty("java.io.tmpdir");
        return Path.of(text.replace("${karaf.data}", base)).toAbsolutePath().normalize();
    }

    Path stateDirectory() {
        return stateDirectory;
    }
}
