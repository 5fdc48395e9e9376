package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
 * The {@code qemu} hypervisor driver: hosts whose guests are QEMU processes on this machine, started and driven
 * over QMP without libvirt ({@link QemuHostConnection}). It makes checkpoints of images and starts new VMs from
 * them through a pool of pre-started processes. Immediate, like the libvirt driver: guests and pool processes
 * outlive a restart of the core, and of the appliance (they are detached; the next connection adopts them).
 */
@Component(service = HypervisorDriver.class, configurationPid = QemuDriver.PID, immediate = true)
@Designate(ocd = QemuDriverConfig.class)
@HypervisorDriverName(QemuDriver.NAME)
public final class QemuDriver implements HypervisorDriver {

    static final String NAME = "qemu";
    static final String PID = "org.servicefarm.driver.qemu";
    private static final Logger LOG = LoggerFactory.getLogger(QemuDriver.class);

    /** The driver's settings, checked once. */
    record Settings(QemuSettings qemu, Path stateRoot, Path dataRoot, Path imageDir, Duration bootLimit,
                    Duration restoreLimit) {

        /** The QEMU settings of one host: its own state and checkpoint directories. */
        QemuSettings forHost(String host) {
            return qemu.withDirectories(stateRoot.resolve(host), dataRoot.resolve(host).resolve("checkpoints"),
                    List.of(imageDir));
        }

        Path savedDir(String host) {
            return dataRoot.resolve(host).resolve("saved");
        }
    }

    private final Set<QemuHostConnection> connections = ConcurrentHashMap.newKeySet();
    /** A typo must not take the driver and its hosts away: it runs on the settings it accepted last. */
    private final ConfiguredSettings<QemuDriverConfig, Settings> configuration = new ConfiguredSettings<>(PID,
            QemuDriverConfig.class, QemuDriver::settings);
    private volatile Settings settings;

    @Activate
    void activate(QemuDriverConfig config, ComponentContext context) {
        settings = configuration.accept(context, config);
        LOG.info("qemu driver ready: {} as {}; state under {}, checkpoints and saved VMs under {}, images staged in {}",
                settings.qemu().qemuBinary(), settings.qemu().runAs() == null ? "root" : settings.qemu().runAs(),
                settings.stateRoot(), settings.dataRoot(), settings.imageDir());
    }

    /** @throws RuntimeException for a setting QEMU's settings refuse (a path, the limits) */
    static Settings settings(QemuDriverConfig config) {
        String runAs = config.runAs() == null || config.runAs().isBlank() ? null : config.runAs().trim();
        Path stateRoot = Path.of(config.stateDir().trim());
        Path dataRoot = Path.of(config.dataDir().trim());
        Path imageDir = Path.of(config.imageDir().trim());
        QemuSettings qemu = new QemuSettings(Path.of(config.qemuBinary().trim()), stateRoot, dataRoot,
                List.of(imageDir), config.machine().trim(), config.accel().trim(), config.cpu().trim(),
                config.bindAddress().trim(), runAs, config.sandbox(), true, true, Duration.ofSeconds(30));
        if (config.checkpointBootLimitSeconds() < 1 || config.restoreLimitSeconds() < 1) {
            throw new IllegalArgumentException("the boot and restore limits must be positive");
        }
        return new Settings(qemu, stateRoot, dataRoot, imageDir, Duration.ofSeconds(config.checkpointBootLimitSeconds()),
                Duration.ofSeconds(config.restoreLimitSeconds()));
    }

    @Deactivate
    void deactivate() {
        configuration.close();
        for (QemuHostConnection connection : List.copyOf(connections)) {
            connection.close();
        }
        settings = null;
    }

    @Override
    public void validate(HostRecord host) {
        hostSettings(host);
    }

    private HostSettings hostSettings(HostRecord host) {
        Settings current = settings;
        if (current == null) {
            throw new IllegalStateException("the qemu driver is not active");
        }
        if (!NAME.equals(host.driver())) {
            throw new InvalidRequestException("driver", "host " + host.name() + " names driver '"
                    + Names.excerpt(host.driver()) + "', not '" + NAME + "'");
        }
        return HostSettings.of(host, current.qemu().bindAddress());
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
        Settings current = settings;
        if (current == null) {
            throw new HypervisorException("the qemu driver is not active");
        }
        HostSettings hostSettings;
        try {
            hostSettings = hostSettings(host);
        } catch (InvalidRequestException e) {
            throw new HypervisorException("host " + host.name() + " is refused by the qemu driver: " + e.getMessage());
        }
        for (QemuHostConnection open : connections) {
            if (open.host().name().equals(host.name())) {
                // one connection per host name: two would start pools and adopt guests in the same directories
                throw new HypervisorException("host " + host.name() + " is connected already");
            }
        }
        QemuHostConnection connection;
        try {
            connection = QemuHostConnection.open(host, hostSettings, current, events, connections::remove);
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException("host " + host.name() + ": " + Checks.message(e.getMessage(), 400), e);
        }
        connections.add(connection);
        return connection;
    }
}
