package org.servicefarm.driver.xapi.internal;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.ssl.SSLContext;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorDriverName;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code xapi} hypervisor driver: each host is a XenServer / XCP-ng pool reached over XAPI's JSON-RPC (see
 * {@link XapiHostConnection} for how the farm's lifecycle maps onto XAPI's). Which pools hosts may name, and the
 * credentials, are this driver's configuration ({@link XapiDriverConfig}); a host names a pool and sets only
 * {@link XapiHostSettings its own keys}.
 */
@Component(service = HypervisorDriver.class, configurationPid = XapiDriver.PID, immediate = true)
@Designate(ocd = XapiDriverConfig.class)
@HypervisorDriverName(XapiDriver.NAME)
public final class XapiDriver implements HypervisorDriver {

    static final String NAME = "xapi";
    static final String PID = "org.servicefarm.driver.xapi";
    private static final Logger LOG = LoggerFactory.getLogger(XapiDriver.class);

    /** The driver's settings, checked once. */
    /** @param tls what pools' certificates are checked against; {@code null}: this JVM's trust store */
    record Settings(Set<URI> pools, SSLContext tls, String username, String password, Duration callTimeout,
                    Duration operationTimeout, Duration uploadTimeout, Path bootDirectory, Path mke2fs) {
        @Override
        public String toString() { // never the password
            return "pools " + pools + " as " + username;
        }
    }

    private final Set<XapiHostConnection> connections = ConcurrentHashMap.newKeySet();
    /** A typo must not take the driver and its hosts away: it runs on the settings it accepted last. */
    private final ConfiguredSettings<XapiDriverConfig, Settings> configuration = new ConfiguredSettings<>(PID,
            XapiDriverConfig.class, XapiDriver::settings);
    private volatile Settings settings;

    @Activate
    void activate(XapiDriverConfig config, ComponentContext context) {
        settings = configuration.accept(context, config);
        LOG.info("xapi driver ready: {}; boot disks under {}", settings, settings.bootDirectory());
    }

    @Deactivate
    void deactivate() {
        configuration.close();
        for (XapiHostConnection connection : List.copyOf(connections)) {
            connection.close();
        }
        settings = null;
    }

    /** @throws RuntimeException for a setting it refuses (a pool address, a timeout) */
    static Settings settings(XapiDriverConfig config) {
        Set<URI> pools = new LinkedHashSet<>();
        for (String pool : config.pools() == null ? new String[0] : config.pools()) {
            if (!pool.isBlank()) {
                pools.add(XapiHostSettings.poolAddress(pool));
            }
        }
        if (config.callTimeoutSeconds() < 1 || config.operationTimeoutSeconds() < 1
                || config.uploadTimeoutSeconds() < 1) {
            throw new IllegalArgumentException("the call, operation and upload timeouts must be positive");
        }
        if (config.username() == null || config.username().isBlank()) {
            throw new IllegalArgumentException("username must not be empty");
        }
        String certificates = config.certificates() == null ? "" : config.certificates().trim();
        return new Settings(Set.copyOf(pools), certificates.isEmpty() ? null : PoolCertificates.trusting(
                Path.of(certificates)), config.username().trim(), config._password() == null ? ""
                : config._password(), Duration.ofSeconds(config.callTimeoutSeconds()),
                Duration.ofSeconds(config.operationTimeoutSeconds()),
                Duration.ofSeconds(config.uploadTimeoutSeconds()), stateDirectory(config.stateDir()),
                Path.of(config.mke2fs().trim()));
    }

    /** Replaces {@code ${karaf.data}} by the system property, or by java.io.tmpdir outside Karaf. */
    private static Path stateDirectory(String configured) {
        String karafData = System.getProperty("karaf.data");
        String base = karafData != null && !karafData.isBlank() ? karafData : System.getProperty("java.io.tmpdir");
        return Path.of(configured.trim().replace("${karaf.data}", base)).resolve("boot").toAbsolutePath().normalize();
    }

    @Override
    public void validate(HostRecord host) {
        hostSettings(host);
    }

    private XapiHostSettings hostSettings(HostRecord host) {
        Settings current = settings;
        if (current == null) {
            throw new IllegalStateException("the xapi driver is not active");
        }
        if (!NAME.equals(host.driver())) {
            throw new InvalidRequestException("driver", "host " + host.name() + " names driver '"
                    + Names.excerpt(host.driver()) + "', not '" + NAME + "'");
        }
        return XapiHostSettings.of(host, current.pools());
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
        Settings current = settings;
        if (current == null) {
            throw new HypervisorException("the xapi driver is not active");
        }
        XapiHostSettings hostSettings;
        try {
            hostSettings = hostSettings(host);
        } catch (InvalidRequestException e) {
            throw new HypervisorException("host " + host.name() + " is refused by the xapi driver: " + e.getMessage());
        }
        XapiHostConnection connection = XapiHostConnection.open(host, hostSettings, current, events,
                connections::remove);
        connections.add(connection);
        return connection;
    }
}
