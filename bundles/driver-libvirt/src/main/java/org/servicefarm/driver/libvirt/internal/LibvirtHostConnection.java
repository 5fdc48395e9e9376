package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.StartedDetail;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host: one libvirt connection, the farm's domains on it, its port allocations and its events.
 *
 * <p>The farm's domains are the ones carrying {@link FarmMetadata}; every other domain on the host is left
 * alone and never reported. A VM's domain name is its id ({@link DomainXml#domainName}); its saved state is a
 * file under the host's state directory.
 *
 * <p>Events: libvirt's lifecycle events for the farm's domains become {@link VmEvent}s carrying the resting
 * state the guest reached, in libvirt's order. The {@code STARTED} event of a {@link #start} or
 * {@link #restore} this connection carries out becomes {@code ACTIVE} only once the boot (or restore) time
 * has passed too, because only then is the guest serving; the {@code STOPPED} event of a {@link #destroy}
 * is withheld because {@code DESTROYED} follows when libvirt undefines the domain.
 */
final class LibvirtHostConnection implements HostConnection {

    private static final Logger LOG = LoggerFactory.getLogger(LibvirtHostConnection.class);
    /** virDomainUndefineFlags: also drop managed-save images and snapshot metadata, which the farm never keeps. */
    private static final int UNDEFINE_MANAGED_SAVE_AND_SNAPSHOTS = 1 | 2;
    private static final int LOCK_STRIPES = 32;

    private final HostRecord host;
    private final HostSettings settings;
    private final Connect libvirt;
    private final Path saveDirectory;
    private final EventDispatcher dispatcher;
    private final Consumer<LibvirtHostConnection> onClose;
    /** The farm's domains on this host, by VM id (= domain name). */
    private final ConcurrentMap<String, FarmDomain> farmDomains = new ConcurrentHashMap<>();
    /** Operations on one VM are serialised; striped so the lock table stays bounded. */
    private final ReentrantLock[] vmLocks = new ReentrantLock[LOCK_STRIPES];
    private final LifecycleListener lifecycleListener = this::onLifecycleEvent;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LibvirtHostConnection(HostRecord host, HostSettings settings, Connect libvirt, Path saveDirectory,
                                  EventDispatcher dispatcher, Consumer<LibvirtHostConnection> onClose) {
        this.host = host;
        this.settings = settings;
        this.libvirt = libvirt;
        this.saveDirectory = saveDirectory;
        this.dispatcher = dispatcher;
        this.onClose = onClose;
        for (int i = 0; i < vmLocks.length; i++) {
            vmLocks[i] = new ReentrantLock();
        }
    }

    /**
     * Opens the host's libvirt connection, subscribes to its lifecycle events and recovers the farm's
     * domains (and their ports) from their metadata.
     */
    static LibvirtHostConnection open(HostRecord host, HostSettings settings, Path stateDirectory,
                                      EventDispatcher dispatcher, Consumer<LibvirtHostConnection> onClose)
            throws HypervisorException {
        Connect libvirt;
        try {
            libvirt = new Connect(settings.libvirtUri(), false);
        } catch (LibvirtException e) {
            throw new HypervisorException("host " + host.name() + ": cannot connect to " + settings.shownUri()
                    + ": " + LibvirtErrors.describe(e), e);
        }
        LibvirtHostConnection connection = new LibvirtHostConnection(host, settings, libvirt,
                stateDirectory.resolve(host.name()), dispatcher, onClose);
        try {
            libvirt.addLifecycleListener(connection.lifecycleListener);
            connection.recoverFarmDomains();
        } catch (LibvirtException | HypervisorException | RuntimeException e) {
            connection.closeQuietly();
            if (e instanceof HypervisorException he) {
                throw he;
            }
            throw new HypervisorException("host " + host.name() + ": cannot read its domains: " + describe(e), e);
        }
        return connection;
    }

    @Override
    public HostRecord host() {
        return host;
    }

    HostSettings settings() {
        return settings;
    }

    @Override
    public Map<String, Endpoint> define(VmSpec spec) throws HypervisorException {
        String vmId = spec.vmId();
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            ensureOpen();
            checkServices(spec);
            FarmDomain known = farmDomains.get(vmId);
            if ((known != null && !known.destroyed()) || lookup(vmId).map(this::freeing).orElse(false)) {
                throw new HypervisorException("VM " + vmId + " is already defined on host " + host.name());
            }
            List<Integer> ports = settings.ports().allocate(spec.services().size(), host.name());
            boolean defined = false;
            try {
                List<PortBinding> bindings = new ArrayList<>();
                for (int i = 0; i < ports.size(); i++) {
                    VmSpec.GuestService service = spec.services().get(i);
                    bindings.add(new PortBinding(service.name(), service.guestPort(), ports.get(i)));
                }
                FarmMetadata metadata = new FarmMetadata(vmId, host.name(), spec.offering() == null ? "" : spec.offering().key(),
                        spec.image().id(), bindings);
                String xml = DomainXml.render(settings.kind(), spec, metadata, settings.forwardAddress());
                Domain domain = call("define", vmId, () -> libvirt.domainDefineXML(xml));
                try {
                    farmDomains.put(vmId, new FarmDomain(metadata, call("read", vmId, domain::getUUIDString)));
                } finally {
                    free(domain);
                }
                defined = true;
                return endpointsOf(metadata);
            } finally {
                if (!defined) {
                    settings.ports().release(ports);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void start(String vmId) throws HypervisorException {
        FarmDomain farmDomain;
        Activation activation;
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            farmDomain = requireFarmDomain(vmId);
            Domain domain = requireDomain(vmId);
            try {
                activation = farmDomain.beginActivation("started (booted)");
                try {
                    call("start", vmId, domain::create);
                } catch (HypervisorException e) {
                    farmDomain.activations.remove(activation);
                    throw e;
                }
            } finally {
                free(domain);
            }
        } finally {
            lock.unlock();
        }
        // The lock is not held while the simulated boot runs: other VMs sharing the stripe carry on.
        waitFor(settings.bootTimeMs(), "start", vmId);
        finish(farmDomain, activation);
    }

    @Override
    public void suspend(String vmId) throws HypervisorException {
        onDomain(vmId, "suspend", Domain::suspend);
    }

    @Override
    public void resume(String vmId) throws HypervisorException {
        onDomain(vmId, "resume", Domain::resume);
    }

    @Override
    public void save(String vmId) throws HypervisorException {
        Path file = saveFile(vmId);
        onDomain(vmId, "save", domain -> {
            try {
                Files.createDirectories(file.getParent());
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": cannot create state directory "
                        + file.getParent() + ": " + describe(e), e);
            }
            domain.save(file.toString());
        });
    }

    @Override
    public void restore(String vmId) throws HypervisorException {
        Path file = saveFile(vmId);
        FarmDomain farmDomain;
        Activation activation;
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            farmDomain = requireFarmDomain(vmId);
            if (!Files.isRegularFile(file)) {
                throw new HypervisorException("VM " + vmId + " on host " + host.name() + " has no saved state ("
                        + file + ")");
            }
            activation = farmDomain.beginActivation("started (restored)");
            try {
                call("restore", vmId, () -> {
                    libvirt.restore(file.toString());
                    return null;
                });
            } catch (HypervisorException e) {
                farmDomain.activations.remove(activation);
                throw e;
            }
            // virDomainRestore brings a guest back as it was saved: one saved while paused is paused again.
            Domain domain = requireDomain(vmId);
            try {
                if (call("read state of", vmId, domain::getInfo).state == DomainState.VIR_DOMAIN_PAUSED) {
                    call("resume", vmId, () -> {
                        domain.resume();
                        return null;
                    });
                }
            } finally {
                free(domain);
            }
            deleteQuietly(file);
        } finally {
            lock.unlock();
        }
        waitFor(settings.restoreTimeMs(), "restore", vmId);
        finish(farmDomain, activation);
    }

    @Override
    public void destroy(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            ensureOpen();
            Optional<Domain> found = lookup(vmId);
            FarmDomain farmDomain = farmDomains.get(vmId);
            if (found.isPresent()) {
                Domain domain = found.get();
                try {
                    Optional<FarmMetadata> metadata = DomainXml.metadataOf(call("read", vmId,
                            () -> domain.getXMLDesc(0)));
                    if (metadata.isEmpty()) {
                        throw new HypervisorException("domain " + vmId + " on host " + host.name()
                                + " was not defined by the farm; refusing to destroy it");
                    }
                    if (!isOurs(metadata.get())) {
                        throw new HypervisorException("domain " + vmId + " belongs to farm host '"
                                + metadata.get().host() + "', not " + host.name() + "; refusing to destroy it");
                    }
                    if (farmDomain == null) {
                        farmDomain = track(metadata.get(), call("read", vmId, domain::getUUIDString));
                    }
                    if (call("read state of", vmId, domain::isActive) == 1) {
                        farmDomain.expectedDestroyStops.incrementAndGet();
                        try {
                            call("destroy", vmId, () -> {
                                domain.destroy();
                                return null;
                            });
                        } catch (HypervisorException e) {
                            farmDomain.expectedDestroyStops.decrementAndGet();
                            if (!stillExists(vmId)) {
                                LOG.debug("VM {} on host {} vanished while being destroyed", vmId, host.name());
                            } else {
                                throw e;
                            }
                        }
                    }
                    try {
                        call("undefine", vmId, () -> {
                            domain.undefine(UNDEFINE_MANAGED_SAVE_AND_SNAPSHOTS);
                            return null;
                        });
                    } catch (HypervisorException e) {
                        if (stillExists(vmId)) {
                            throw e;
                        }
                    }
                } finally {
                    free(domain);
                }
            }
            deleteQuietly(saveFile(vmId));
            if (farmDomain != null) {
                // The entry stays until libvirt's UNDEFINED event has been turned into DESTROYED.
                farmDomain.markDestroyed();
                releasePorts(farmDomain);
                if (found.isEmpty()) {
                    farmDomains.remove(vmId, farmDomain);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<GuestInfo> guests() throws HypervisorException {
        ensureOpen();
        Domain[] domains = call("list domains of", host.name(), () -> libvirt.listAllDomains(0));
        List<GuestInfo> guests = new ArrayList<>();
        try {
            for (Domain domain : domains) {
                String xml;
                DomainState state;
                String uuid;
                try {
                    xml = domain.getXMLDesc(0);
                    state = domain.getInfo().state;
                    uuid = domain.getUUIDString();
                } catch (LibvirtException e) {
                    if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                        continue; // undefined while we were listing
                    }
                    throw new HypervisorException("host " + host.name() + ": cannot read a domain: "
                            + describe(e), e);
                }
                Optional<FarmMetadata> metadata = DomainXml.metadataOf(xml).filter(this::isOurs);
                if (metadata.isPresent()) {
                    FarmMetadata farm = metadata.get();
                    FarmDomain tracked = farmDomains.get(farm.vmId());
                    if (tracked == null || !tracked.uuid.equals(uuid)) {
                        if (tracked != null) {
                            releasePorts(tracked); // its domain was replaced behind the farm's back
                        }
                        track(farm, uuid);
                    }
                    guests.add(new GuestInfo(farm.vmId(),
                            restingState(state, Files.isRegularFile(saveFile(farm.vmId())))));
                }
            }
        } finally {
            for (Domain domain : domains) {
                free(domain);
            }
        }
        return guests;
    }

    /** The endpoints of a VM the farm knows on this host, rebuilt from its metadata; empty if unknown. */
    Map<String, Endpoint> endpoints(String vmId) {
        FarmDomain farmDomain = farmDomains.get(vmId);
        return farmDomain == null || farmDomain.destroyed() ? Map.of() : endpointsOf(farmDomain.metadata);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeQuietly();
        onClose.accept(this);
    }

    boolean isClosed() {
        return closed.get();
    }

    /**
     * The resting state of a domain as {@link #guests()} reports it. A domain that is shut off with no saved
     * state cannot serve nor be restored: FAILED, like a crashed one.
     */
    static VmState restingState(DomainState state, boolean hasSavedState) {
        return switch (state) {
            case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> VmState.ACTIVE;
            case VIR_DOMAIN_PAUSED, VIR_DOMAIN_PMSUSPENDED -> VmState.SLEEPING;
            case VIR_DOMAIN_SHUTOFF -> hasSavedState ? VmState.ARCHIVED : VmState.FAILED;
            case VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_CRASHED, VIR_DOMAIN_NOSTATE -> VmState.FAILED;
        };
    }

    /**
     * The resting state a libvirt lifecycle event leaves a guest in, or {@code null} for events that leave
     * no new resting state (DEFINED, the SHUTDOWN that precedes STOPPED).
     */
    static VmState observedState(DomainEventType type, Object detail) {
        return switch (type) {
            case STARTED, RESUMED -> VmState.ACTIVE;
            case SUSPENDED -> detail == SuspendedDetail.IOERROR || detail == SuspendedDetail.WATCHDOG
                    || detail == SuspendedDetail.API_ERROR ? VmState.FAILED : VmState.SLEEPING;
            case PMSUSPENDED -> VmState.SLEEPING;
            case STOPPED -> detail == StoppedDetail.SAVED ? VmState.ARCHIVED : VmState.FAILED;
            case CRASHED -> VmState.FAILED;
            case UNDEFINED -> VmState.DESTROYED;
            case DEFINED, SHUTDOWN, UNKNOWN -> null;
        };
    }

    private int onLifecycleEvent(Domain domain, DomainEvent event) {
        try {
            if (closed.get()) {
                return 0;
            }
            String vmId = DomainXml.vmIdOf(domain.getName());
            FarmDomain farmDomain = farmDomains.get(vmId);
            if (farmDomain == null || !farmDomain.uuid.equals(domain.getUUIDString())) {
                return 0; // not the farm's, or a late event of a domain that had the same name before
            }
            DomainEventType type = event.getType();
            Object detail = event.getDetail();
            if (type == DomainEventType.STARTED && detail != StartedDetail.WAKEUP) {
                // Events come in order, so this STARTED belongs to the oldest activation that has not seen one.
                for (Activation activation : farmDomain.activations) {
                    if (activation.eventArrived()) {
                        if (activation.complete()) {
                            farmDomain.activations.remove(activation);
                            deliver(farmDomain, VmState.ACTIVE, activation.detail);
                        }
                        return 0; // otherwise start()/restore() delivers ACTIVE when its wait is over
                    }
                }
            }
            if (type == DomainEventType.STOPPED && detail == StoppedDetail.DESTROYED
                    && farmDomain.expectedDestroyStops.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                return 0; // destroy(): DESTROYED follows with UNDEFINED
            }
            if (type == DomainEventType.UNDEFINED) {
                farmDomains.remove(vmId, farmDomain);
                releasePorts(farmDomain); // no-op when destroy() released them already
            }
            VmState observed = observedState(type, detail);
            if (observed != null) {
                deliver(farmDomain, observed, event.toString().toLowerCase(Locale.ROOT));
            }
        } catch (LibvirtException | RuntimeException e) {
            LOG.warn("host {}: could not handle a lifecycle event: {}", host.name(), describe(e));
        }
        return 0;
    }

    /**
     * Marks the guest serving. ACTIVE goes out once libvirt's STARTED event has been seen too, so it is never
     * delivered ahead of events libvirt queued before it (a save's ARCHIVED before a restore's ACTIVE).
     */
    private void finish(FarmDomain farmDomain, Activation activation) {
        if (activation.waited() && activation.complete()) {
            farmDomain.activations.remove(activation);
            deliver(farmDomain, VmState.ACTIVE, activation.detail);
        }
    }

    private void deliver(FarmDomain farmDomain, VmState observed, String detail) {
        VmEvent event = new VmEvent(host.name(), farmDomain.metadata.vmId(), observed, detail);
        dispatcher.dispatch(this, event);
    }

    private void recoverFarmDomains() throws LibvirtException, HypervisorException {
        Domain[] domains = libvirt.listAllDomains(0);
        try {
            for (Domain domain : domains) {
                Optional<FarmMetadata> metadata = DomainXml.metadataOf(domain.getXMLDesc(0)).filter(this::isOurs);
                if (metadata.isPresent()) {
                    track(metadata.get(), domain.getUUIDString());
                }
            }
        } finally {
            for (Domain domain : domains) {
                free(domain);
            }
        }
        LOG.info("host {}: connected to {}, {} farm domain(s) recovered, {} port(s) in use", host.name(),
                settings.shownUri(), farmDomains.size(), settings.ports().takenCount());
    }

    private boolean isOurs(FarmMetadata metadata) {
        return metadata.host().equals(host.name());
    }

    private FarmDomain track(FarmMetadata metadata, String uuid) {
        FarmDomain farmDomain = new FarmDomain(metadata, uuid);
        settings.ports().reserve(metadata.hostPorts());
        farmDomains.put(metadata.vmId(), farmDomain);
        return farmDomain;
    }

    private void releasePorts(FarmDomain farmDomain) {
        if (farmDomain.portsReleased.compareAndSet(false, true)) {
            settings.ports().release(farmDomain.metadata.hostPorts());
        }
    }

    private Map<String, Endpoint> endpointsOf(FarmMetadata metadata) {
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        for (PortBinding port : metadata.ports()) {
            endpoints.put(port.service(), new Endpoint(settings.endpointHost(), port.hostPort()));
        }
        return endpoints;
    }

    private void checkServices(VmSpec spec) throws HypervisorException {
        Set<String> names = new HashSet<>();
        for (VmSpec.GuestService service : spec.services()) {
            if (service.name() == null || service.name().isBlank()) {
                throw new HypervisorException("VM " + spec.vmId() + ": a service has no name");
            }
            if (!names.add(service.name())) {
                throw new HypervisorException("VM " + spec.vmId() + ": service " + service.name() + " is listed twice");
            }
            if (service.guestPort() < 1 || service.guestPort() > 65535) {
                throw new HypervisorException("VM " + spec.vmId() + ": service " + service.name()
                        + " has guest port " + service.guestPort() + ", outside 1-65535");
            }
        }
    }

    /** Runs {@code operation} on the VM's domain under the VM's lock. */
    private void onDomain(String vmId, String what, DomainOperation operation) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            requireFarmDomain(vmId);
            Domain domain = requireDomain(vmId);
            try {
                operation.apply(domain);
            } catch (LibvirtException e) {
                throw failure(what, vmId, e);
            } finally {
                free(domain);
            }
        } finally {
            lock.unlock();
        }
    }

    private FarmDomain requireFarmDomain(String vmId) throws HypervisorException {
        ensureOpen();
        FarmDomain farmDomain = farmDomains.get(vmId);
        if (farmDomain == null || farmDomain.destroyed()) {
            throw new HypervisorException("no VM " + vmId + " on host " + host.name());
        }
        return farmDomain;
    }

    private Domain requireDomain(String vmId) throws HypervisorException {
        return lookup(vmId).orElseThrow(() -> new HypervisorException("VM " + vmId + " is known to the farm but "
                + "host " + host.name() + " has no domain for it any more"));
    }

    private Optional<Domain> lookup(String vmId) throws HypervisorException {
        try {
            return Optional.of(libvirt.domainLookupByName(DomainXml.domainName(vmId)));
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                return Optional.empty();
            }
            throw failure("look up", vmId, e);
        }
    }

    private boolean stillExists(String vmId) throws HypervisorException {
        return lookup(vmId).map(this::freeing).orElse(false);
    }

    /** Frees a looked-up domain and says it existed. */
    private boolean freeing(Domain domain) {
        free(domain);
        return true;
    }

    /**
     * Where a VM's saved state goes. The id is encoded so that no id can name a path outside the host's
     * state directory (or collide with another id); very long ids use their SHA-256.
     */
    Path saveFile(String vmId) {
        StringBuilder name = new StringBuilder();
        for (byte b : vmId.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                name.append((char) c);
            } else {
                name.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        String fileName = name.length() <= 200 ? name.toString() : "sha256-" + sha256(vmId);
        return saveDirectory.resolve(fileName + ".save");
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private void waitFor(long millis, String what, String vmId) throws HypervisorException {
        if (millis <= 0) {
            return;
        }
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("host " + host.name() + ": interrupted while VM " + vmId + " was in "
                    + what, e);
        }
    }

    private ReentrantLock lockFor(String vmId) {
        return vmLocks[Math.floorMod(vmId.hashCode(), vmLocks.length)];
    }

    private void ensureOpen() throws HypervisorException {
        if (closed.get()) {
            throw new HypervisorException("the connection to host " + host.name() + " is closed");
        }
    }

    private <T> T call(String what, String vmId, LibvirtCall<T> call) throws HypervisorException {
        ensureOpen();
        try {
            return call.call();
        } catch (LibvirtException e) {
            throw failure(what, vmId, e);
        }
    }

    private HypervisorException failure(String what, String vmId, LibvirtException e) {
        return new HypervisorException("host " + host.name() + ": " + what + " " + vmId + " failed: "
                + LibvirtErrors.describe(e), e);
    }

    private void closeQuietly() {
        try {
            libvirt.removeLifecycleListener(lifecycleListener);
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("host {}: removing the lifecycle listener failed: {}", host.name(), describe(e));
        }
        try {
            libvirt.close();
        } catch (LibvirtException e) {
            LOG.warn("host {}: closing the libvirt connection failed: {}", host.name(), LibvirtErrors.describe(e));
        }
    }

    /** Any failure as it may be shown: libvirt's by {@link LibvirtErrors}, others bounded and escaped. */
    private static String describe(Exception e) {
        return e instanceof LibvirtException le ? LibvirtErrors.describe(le) : LibvirtErrors.shown(e.toString());
    }

    private static void free(Domain domain) {
        try {
            domain.free();
        } catch (LibvirtException e) {
            LOG.debug("freeing a domain handle failed: {}", LibvirtErrors.describe(e));
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot delete saved state {}: {}", file, describe(e));
        }
    }

    @Override
    public String toString() {
        return "libvirt host " + host.name() + " (" + settings.shownUri() + ")";
    }

    @FunctionalInterface
    private interface DomainOperation {
        void apply(Domain domain) throws LibvirtException, HypervisorException;
    }

    @FunctionalInterface
    private interface LibvirtCall<T> {
        T call() throws LibvirtException;
    }

    /** A start or restore: done when libvirt reported STARTED and the boot (or restore) time has passed. */
    private static final class Activation {
        final String detail;
        private boolean eventSeen;
        private boolean waitOver;
        private boolean delivered;

        Activation(String detail) {
            this.detail = detail;
        }

        /** Records libvirt's STARTED event; false if this activation had already seen one. */
        synchronized boolean eventArrived() {
            if (eventSeen) {
                return false;
            }
            eventSeen = true;
            return true;
        }

        synchronized boolean waited() {
            waitOver = true;
            return true;
        }

        /** True exactly once: when both halves are in. */
        synchronized boolean complete() {
            if (delivered || !eventSeen || !waitOver) {
                return false;
            }
            delivered = true;
            return true;
        }
    }

    /** A farm domain as this connection tracks it. */
    private static final class FarmDomain {
        final FarmMetadata metadata;
        /** Tells this domain from an earlier or later one with the same name. */
        final String uuid;
        /** Starts and restores not yet reported, oldest first: each one's STARTED becomes ACTIVE once the guest serves. */
        final Queue<Activation> activations = new ConcurrentLinkedQueue<>();
        /** STOPPED(DESTROYED) events of this connection's destroy() calls. */
        final AtomicInteger expectedDestroyStops = new AtomicInteger();
        final AtomicBoolean portsReleased = new AtomicBoolean();
        private volatile boolean destroyed;

        FarmDomain(FarmMetadata metadata, String uuid) {
            this.metadata = metadata;
            this.uuid = uuid;
        }

        boolean destroyed() {
            return destroyed;
        }

        Activation beginActivation(String detail) {
            Activation activation = new Activation(detail);
            activations.add(activation);
            return activation;
        }

        void markDestroyed() {
            destroyed = true;
        }
    }
}
