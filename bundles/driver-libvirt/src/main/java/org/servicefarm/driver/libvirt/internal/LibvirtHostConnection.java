package org.servicefarm.driver.libvirt.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.libvirt.Connect;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.LibvirtException;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.driver.libvirt.internal.FarmDomains.Tracked;
import org.servicefarm.driver.libvirt.internal.FarmMetadata.PortBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host: one libvirt connection and the farm's domains on it. It carries out the {@link HostConnection}
 * operations, one VM at a time, from the pieces that own each concern: {@link Domains} (the libvirt calls on domains),
 * {@link ImageStaging} (images onto the host), {@link SimulatedHost} (a test host's guests answering),
 * {@link FarmDomains} (which domains are the farm's, and their ports), {@link LifecycleEvents} (libvirt's events
 * paired with this connection's operations), {@link SavedStates} (saved-state files) and {@link DomainTemplate}
 * (the domain XML of the host's kind).
 *
 * <p>The farm's domains are the ones carrying {@link FarmMetadata} naming this host; every other domain on the
 * host is left alone and never reported. A VM's domain name is its id ({@link DomainXml#domainName}).
 */
final class LibvirtHostConnection implements HostConnection {

    private static final Logger LOG = LoggerFactory.getLogger(LibvirtHostConnection.class);
    /** Seconds without traffic before libvirt probes the daemon, and the unanswered probes after which it gives up. */
    static final int KEEPALIVE_INTERVAL_S = 5;
    static final int KEEPALIVE_COUNT = 3;
    private static final int LOCK_STRIPES = 32;
    /** zstd's own default: an archive that moved is compressed again at it (the archive's level is not recorded). */
    private static final int RELOCATED_LEVEL = 3;

    private final HostRecord host;
    private final HostSettings settings;
    private final Connect libvirt;
    private final Domains domains;
    private final ImageStaging staging;
    private final FarmDomains farm;
    private final LifecycleEvents events;
    private final SavedStates savedStates;
    private final ArchiveTiers tiers;
    private final DomainTemplate template;
    /** A test host's guests' services; {@code null} on QEMU hosts, whose guests answer themselves. */
    private final SimulatedHost simulated;
    private final Consumer<LibvirtHostConnection> onClose;
    /** Operations on one VM are serialised; striped so the lock table stays bounded. */
    private final ReentrantLock[] vmLocks = new ReentrantLock[LOCK_STRIPES];
    private final AtomicBoolean closed = new AtomicBoolean();

    private LibvirtHostConnection(HostRecord host, HostSettings settings, Connect libvirt, Path saveDirectory,
                                  EventDispatcher dispatcher, SimulatedGuests simulatedGuests,
                                  Consumer<LibvirtHostConnection> onClose) {
        this.host = host;
        this.settings = settings;
        this.libvirt = libvirt;
        LibvirtCalls calls = new LibvirtCalls(host.name(), closed::get);
        this.domains = new Domains(libvirt, calls);
        this.staging = new ImageStaging(libvirt, settings, calls, domains);
        this.farm = new FarmDomains(settings.ports());
        this.simulated = settings.kind() == HostSettings.Kind.TEST ? new SimulatedHost(settings, simulatedGuests) : null;
        this.events = new LifecycleEvents(host.name(), farm, event -> dispatcher.dispatch(this, event),
                simulated == null ? (vmId, type, detail) -> { } : simulated::observed, closed::get);
        this.savedStates = new SavedStates(host.name(), saveDirectory);
        this.tiers = new ArchiveTiers(savedStates);
        this.template = DomainTemplate.of(settings.kind());
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
                                      EventDispatcher dispatcher, SimulatedGuests simulatedGuests,
                                      Consumer<LibvirtHostConnection> onClose) throws HypervisorException {
        Connect libvirt;
        try {
            libvirt = new Connect(settings.libvirtUri(), false);
        } catch (LibvirtException e) {
            throw new HypervisorException("host " + host.name() + ": cannot connect to " + settings.shownUri()
                    + ": " + LibvirtErrors.describe(e), e);
        }
        LibvirtHostConnection connection = new LibvirtHostConnection(host, settings, libvirt,
                stateDirectory.resolve(host.name()), dispatcher, simulatedGuests, onClose);
        try {
            if (settings.kind() == HostSettings.Kind.QEMU) {
                // A daemon that stops answering (wedged, or the network to a remote host cut without a reset) would
                // hold every call on this connection for ever, a creation's among them, while the connection still
                // looked alive: with keepalive, libvirt closes it after KEEPALIVE_COUNT unanswered probes, the calls
                // fail, alive() says so, and the farm connects again. Our event loop answers libvirt's timers.
                libvirt.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
            }
            libvirt.addLifecycleListener(connection.events);
            connection.recoverFarmDomains();
        } catch (LibvirtException | HypervisorException | RuntimeException e) {
            connection.closeQuietly();
            if (e instanceof HypervisorException he) {
                throw he;
            }
            throw new HypervisorException("host " + host.name() + ": cannot read its domains: "
                    + (e instanceof LibvirtException le ? LibvirtErrors.describe(le) : LibvirtErrors.shown(e.toString())),
                    e);
        }
        return connection;
    }

    @Override
    public HostRecord host() {
        return host;
    }

    /** QEMU hosts boot guests from the staged artifacts; a test-driver host simulates its guests and needs none. */
    @Override
    public boolean needsArtifacts() {
        return settings.kind() == HostSettings.Kind.QEMU;
    }

    HostSettings settings() {
        return settings;
    }

    /** The host's libvirt, for tests that put a domain there the farm did not define. */
    Connect libvirt() {
        return libvirt;
    }

    @Override
    public StagedImage stage(ImageRef image) throws HypervisorException {
        if (image.compositionOnly() && needsArtifacts()) {
            throw new HypervisorException("host " + host.name() + " boots real guests, and image " + image.id()
                    + " is a composition only: " + (image.reason() == null ? "it has no artifacts" : image.reason()));
        }
        return staging.stage(image);
    }

    @Override
    public List<StagedContent> stagedBeyond(Collection<ImageRef> needed) throws HypervisorException {
        return staging.beyond(needed);
    }

    @Override
    public void unstage(String id) throws HypervisorException {
        staging.unstage(id);
    }

    @Override
    public Optional<StagingSpace> stagingSpace() throws HypervisorException {
        return staging.space();
    }

    /** How many times a start is tried again on other ports when its forwarded ports were taken meanwhile. */
    static final int FORWARD_RETRIES = 3;

    @Override
    public void define(VmSpec spec) throws HypervisorException {
        String vmId = spec.vmId();
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            domains.ensureOpen();
            checkServices(spec);
            if (farm.live(vmId) != null || domains.exists(vmId)) {
                throw new HypervisorException("VM " + vmId + " is already defined on host " + host.name());
            }
            List<Integer> ports = settings.ports().allocate(spec.services().size(), host.name(), settings::portFree);
            boolean defined = false;
            try {
                List<PortBinding> bindings = new ArrayList<>();
                for (int i = 0; i < ports.size(); i++) {
                    VmSpec.GuestService service = spec.services().get(i);
                    bindings.add(new PortBinding(service.name(), service.guestPort(), ports.get(i)));
                }
                FarmMetadata metadata = FarmMetadata.of(spec, host.name(), bindings);
                String xml = template.render(spec, metadata, settings);
                if (simulated != null) {
                    simulated.listen(metadata); // holds the ports on this machine from now on
                }
                try {
                    farm.track(metadata, domains.define(vmId, xml));
                } catch (HypervisorException | RuntimeException e) {
                    if (simulated != null) {
                        simulated.close(vmId);
                    }
                    throw e;
                }
                defined = true;
            } finally {
                if (!defined) {
                    settings.ports().release(ports);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts a defined VM. When QEMU cannot forward a host port because something took it after the VM was defined
     * (another appliance sharing the host hands out the same range, lowest ports first, and bound it first: the
     * host's kernel decides who has it), the domain is redefined on other free ports, from a random place in the
     * range, and started again, up to {@value #FORWARD_RETRIES} times; the endpoints returned are the ones it runs
     * with.
     */
    @Override
    public Map<String, Endpoint> start(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            Tracked tracked = requireTracked(vmId);
            for (int retry = 0; ; retry++) {
                try {
                    domains.run(vmId, "start", domain -> domain.create());
                    return endpointsOf(tracked.metadata);
                } catch (HypervisorException e) {
                    if (retry >= FORWARD_RETRIES || simulated != null || !forwardTaken(e)) {
                        throw e;
                    }
                    LOG.info("host {}: a host port of {} ({}) was taken after it was defined; trying other ports: {}",
                            host.name(), vmId, tracked.metadata.hostPorts(), LibvirtErrors.shown(e.getMessage()));
                    tracked = forwardElsewhere(tracked);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether a start failed because QEMU could not listen on a forwarded host port (QEMU's net/slirp.c words, in
     * libvirt's error: the exception's own message names only the error's kind).
     */
    static boolean forwardTaken(HypervisorException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (String.valueOf(t.getMessage()).contains("Could not set up host forwarding rule")) {
                return true;
            }
        }
        return false;
    }

    /** Gives a defined VM that does not run other host ports ({@link #start} does on a clash), and its endpoints. */
    Map<String, Endpoint> reforward(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            return endpointsOf(forwardElsewhere(requireTracked(vmId)).metadata);
        } finally {
            lock.unlock();
        }
    }

    /** Redefines a VM's domain, not running, on other host ports; the ports it had are given back. */
    private Tracked forwardElsewhere(Tracked tracked) throws HypervisorException {
        String vmId = tracked.vmId();
        FarmMetadata old = tracked.metadata;
        List<Integer> ports = settings.ports().allocateScattered(old.ports().size(), host.name(),
                settings::portFree, java.util.concurrent.ThreadLocalRandom.current());
        boolean redefined = false;
        try {
            Reforwarded reforwarded = Reforwarded.of(old.ports(), ports);
            Map<Integer, Integer> moved = reforwarded.moved();
            FarmMetadata metadata = old.withPorts(reforwarded.bindings());
            Domains.Listed listed = domains.find(vmId).orElseThrow(() -> new HypervisorException("no VM " + vmId
                    + " on host " + host.name()));
            String xml;
            try {
                xml = LibvirtSaveImage.relocated(listed.xml(), metadata, moved, Map.of());
            } catch (java.io.IOException e) {
                throw new HypervisorException("host " + host.name() + ": the domain of " + vmId
                        + " cannot be given other ports: " + LibvirtErrors.shown(e.toString()), e);
            }
            Tracked forwarded = farm.track(metadata, domains.define(vmId, xml));
            settings.ports().release(old.hostPorts()); // same domain (same UUID): tracking it again kept them held
            redefined = true;
            if (simulated != null) { // a test-driver guest's services are this driver's listeners: they move too
                simulated.close(vmId);
                simulated.listen(metadata);
            }
            return forwarded;
        } finally {
            if (!redefined) {
                settings.ports().release(ports);
            }
        }
    }

    @Override
    public void suspend(String vmId) throws HypervisorException {
        onDomain(vmId, "suspend", domain -> domain.suspend());
    }

    @Override
    public Map<String, Endpoint> resume(String vmId) throws HypervisorException {
        return onDomain(vmId, "resume", domain -> domain.resume());
    }

    @Override
    public void save(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            requireTracked(vmId);
            Path file = savedStates.prepare(vmId);
            domains.run(vmId, "save", domain -> domain.save(file.toString()));
        } finally {
            lock.unlock();
        }
    }

    /** Saved, compressed (zstd) and delta archives: every tier. */
    @Override
    public java.util.Set<ArchiveTier> archiveTiers() {
        return java.util.EnumSet.allOf(ArchiveTier.class);
    }

    /**
     * Saves the VM if it runs, then keeps its saved state in {@code tier}: compressed or as a delta against its
     * image's base by {@link ArchiveTiers}, beside the file libvirt wrote.
     */
    @Override
    public Archive archive(String vmId, ArchiveTier tier, int compressionLevel) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            Tracked tracked = requireTracked(vmId);
            if (!savedStates.exists(vmId)) {
                Path file = savedStates.prepare(vmId);
                domains.run(vmId, "save", domain -> domain.save(file.toString()));
            }
            try {
                return tiers.move(vmId, tier, compressionLevel, tracked.metadata.imageId(),
                        tracked.metadata.offering() == null ? "" : tracked.metadata.offering().key());
            } catch (java.io.IOException | RuntimeException e) {
                throw new HypervisorException("host " + host.name() + ": VM " + vmId + " cannot be kept in tier "
                        + tier + ": " + LibvirtErrors.shown(e.toString()), e);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves an archived VM to {@code target}, another host of this kind: its saved state expanded, the domain XML in
     * it and its definition rewritten for the target (the farm's metadata naming the target, the target's ports, where
     * the target staged the image), handed over in the tier it was in. Two farm hosts may share one libvirt (one
     * machine's {@code qemu:///system}): there the definition is updated in place, as defining it anew would clash
     * with the same name; else it is defined on the target and undefined here. Until the target holds it, a failure
     * leaves the VM archived here as it was.
     */
    @Override
    public Archive relocate(String vmId, HostConnection target, VmSpec spec) throws HypervisorException {
        if (!(target instanceof LibvirtHostConnection to) || to == this || to.settings.kind() != settings.kind()) {
            throw new HypervisorException("host " + host.name() + " moves a VM's archive only to another libvirt host"
                    + " of its kind (" + settings.kind() + "), not to " + target.host().name());
        }
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            Tracked tracked = requireTracked(vmId);
            ArchiveTier tier = savedStates.tier(vmId);
            if (tier == null || domains.state(vmId) != DomainState.VIR_DOMAIN_SHUTOFF) {
                throw new HypervisorException("VM " + vmId + " on host " + host.name() + " is not archived: only a "
                        + "saved state can move");
            }
            Domains.Listed defined = domains.find(vmId).orElseThrow(() -> new HypervisorException("VM " + vmId
                    + " has no domain on host " + host.name() + " any more"));
            Path raw;
            String savedXml;
            try {
                raw = tiers.materialize(vmId, tracked.metadata.imageId());
                savedXml = LibvirtSaveImage.read(raw).xml();
            } catch (java.io.IOException | RuntimeException e) {
                throw new HypervisorException("host " + host.name() + ": the saved state of " + vmId
                        + " cannot be read: " + LibvirtErrors.shown(e.toString()), e);
            }
            Received received = to.receive(tracked.metadata, defined, raw, savedXml, tier, spec);
            // the target holds it now: nothing of it stays here
            farm.forget(tracked);
            if (!received.shared()) {
                try {
                    domains.destroy(vmId, () -> { }, () -> { });
                } catch (HypervisorException e) {
                    LOG.warn("host {}: VM {} moved to {}, but its old definition stays here: {}", host.name(), vmId,
                            to.host.name(), e.getMessage());
                }
            }
            savedStates.delete(vmId);
            if (simulated != null) {
                simulated.close(vmId);
            }
            LOG.info("host {}: VM {} moved to host {} in tier {}", host.name(), vmId, to.host.name(), tier);
            return received.archive();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The target's part of a relocation: ports allocated, the saved state copied in and rewritten, the domain defined
     * (or updated, on a libvirt shared with the source) and tracked, the state kept in {@code tier}.
     *
     * @return the archive here, and whether the source's libvirt is this one (the domain was updated, not defined anew)
     */
    private Received receive(FarmMetadata source, Domains.Listed defined, Path raw, String savedXml, ArchiveTier tier,
                            VmSpec spec) throws HypervisorException {
        String vmId = source.vmId();
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        List<Integer> ports = List.of();
        Path file = savedStates.prepare(vmId);
        boolean tracked = false;
        try {
            domains.ensureOpen();
            if (farm.live(vmId) != null) {
                throw new HypervisorException("VM " + vmId + " is already on host " + host.name());
            }
            Optional<Domains.Listed> here = domains.find(vmId);
            boolean shared = here.isPresent() && here.get().uuid().equals(defined.uuid());
            if (here.isPresent() && !shared) {
                throw new HypervisorException("host " + host.name() + " has another domain named " + vmId);
            }
            ports = settings.ports().allocate(source.ports().size(), host.name(), settings::portFree);
            Reforwarded reforwarded = Reforwarded.of(source.ports(), ports);
            Map<Integer, Integer> moved = reforwarded.moved();
            FarmMetadata metadata = FarmMetadata.of(spec, host.name(), reforwarded.bindings());
            Map<org.servicefarm.api.image.Artifact.Kind, String> locations = spec.image().locations();
            String uuid;
            try {
                Path partial = file.resolveSibling(file.getFileName() + ".part");
                java.nio.file.Files.copy(raw, partial, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                LibvirtSaveImage.rewriteXml(partial, LibvirtSaveImage.relocated(savedXml, metadata, moved, locations));
                java.nio.file.Files.move(partial, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                uuid = domains.define(vmId, LibvirtSaveImage.relocated(defined.xml(), metadata, moved, locations));
            } catch (java.io.IOException e) {
                throw new HypervisorException("host " + host.name() + ": the saved state of " + vmId
                        + " cannot be taken over: " + LibvirtErrors.shown(e.toString()), e);
            }
            farm.track(metadata, uuid);
            tracked = true;
            if (simulated != null) {
                simulated.listen(metadata);
            }
            Archive archive;
            try {
                archive = tiers.move(vmId, tier, RELOCATED_LEVEL, metadata.imageId(), metadata.offering() == null
                        ? "" : metadata.offering().key());
            } catch (java.io.IOException e) {
                // it is here and restorable from its raw saved state: kept as that rather than lost
                LOG.warn("host {}: VM {} arrived, kept as saved rather than {}: {}", host.name(), vmId, tier,
                        LibvirtErrors.shown(e.toString()));
                long bytes = fileSize(file);
                archive = new Archive(ArchiveTier.SAVED, bytes, bytes);
            }
            return new Received(shared, archive);
        } finally {
            if (!tracked) {
                settings.ports().release(ports);
                savedStates.delete(vmId);
            }
            lock.unlock();
        }
    }

    private record Received(boolean shared, Archive archive) {
    }

    /** The same services forwarded from new host ports, and which old port became which. */
    private record Reforwarded(List<PortBinding> bindings, Map<Integer, Integer> moved) {
        static Reforwarded of(List<PortBinding> old, List<Integer> ports) {
            List<PortBinding> bindings = new ArrayList<>();
            Map<Integer, Integer> moved = new java.util.HashMap<>();
            for (int i = 0; i < ports.size(); i++) {
                PortBinding was = old.get(i);
                bindings.add(new PortBinding(was.service(), was.guestPort(), ports.get(i)));
                moved.put(was.hostPort(), ports.get(i));
            }
            return new Reforwarded(bindings, moved);
        }
    }

    private static long fileSize(Path file) {
        try {
            return java.nio.file.Files.size(file);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    @Override
    public Map<String, Endpoint> restore(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            Tracked tracked = requireTracked(vmId);
            if (!savedStates.exists(vmId)) {
                throw new HypervisorException("VM " + vmId + " on host " + host.name() + " has no saved state ("
                        + savedStates.file(vmId) + ")");
            }
            long started = System.nanoTime();
            ArchiveTier tier = savedStates.tier(vmId);
            String how;
            if (tier != ArchiveTier.SAVED && restoreStreamed(vmId, tier, tracked)) {
                how = "streamed through a pipe";
            } else {
                how = tier == ArchiveTier.SAVED ? "from its file" : "expanded into a file";
                Path raw;
                try {
                    raw = tiers.materialize(vmId, tracked.metadata.imageId());
                } catch (java.io.IOException | RuntimeException e) {
                    throw new HypervisorException("host " + host.name() + ": the saved state of " + vmId
                            + " cannot be read back: " + LibvirtErrors.shown(e.toString()), e);
                }
                domains.restore(vmId, raw.toString());
            }
            // virDomainRestore brings a guest back as it was saved: one saved while paused is paused again.
            if (domains.state(vmId) == DomainState.VIR_DOMAIN_PAUSED) {
                domains.run(vmId, "resume", domain -> domain.resume());
            }
            savedStates.delete(vmId);
            LOG.info("host {}: restored {} from tier {} ({}) in {} ms", host.name(), vmId, tier, how,
                    (System.nanoTime() - started) / 1_000_000);
            return endpointsOf(tracked.metadata);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Restores a VM kept in the COMPRESSED or DELTA tier through a named pipe its saved state is expanded into as
     * libvirt reads it ({@link PipedSavedState}): nothing is written to disk, and the expansion overlaps QEMU's load.
     *
     * @return {@code false} when no pipe can be made here (the caller expands into a file instead, as before)
     */
    private boolean restoreStreamed(String vmId, ArchiveTier tier, Tracked tracked) throws HypervisorException {
        PipedSavedState piped;
        try {
            piped = PipedSavedState.start(savedStates.pipe(vmId), out -> tiers.expandInto(vmId, tier,
                    tracked.metadata.imageId(), out), "servicefarm-restore-" + host.name() + "-" + vmId);
        } catch (java.io.IOException e) {
            LOG.warn("host {}: restoring {} from a file instead of a pipe: {}", host.name(), vmId,
                    LibvirtErrors.shown(e.toString()));
            return false;
        }
        boolean restored = false;
        try {
            domains.restore(vmId, piped.path().toString());
            restored = true;
        } catch (HypervisorException e) {
            boolean read = piped.opened();
            piped.close(false);
            if (!read) {
                // libvirt failed before it opened the pipe (a security driver refusing it, say): a file may do
                LOG.warn("host {}: restoring {} through a pipe failed before it was read ({}); from a file instead",
                        host.name(), vmId, e.getMessage());
                return false;
            }
            Throwable unread = piped.failure();
            if (unread != null) {
                // libvirt saw a short or broken stream: why the saved state could not be read is the news
                throw new HypervisorException(e.getMessage() + "; the saved state of " + vmId + " in tier " + tier
                        + " could not be read back: " + LibvirtErrors.shown(unread.toString()), e);
            }
            throw e;
        } finally {
            if (restored) {
                piped.close(true);
                if (!piped.written()) {
                    LOG.debug("host {}: {} restored before its whole saved state was read: {}", host.name(), vmId,
                            piped.failure() == null ? "-" : piped.failure().toString());
                }
            }
        }
        return true;
    }

    @Override
    public void destroy(String vmId) throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            domains.ensureOpen();
            Optional<Domains.Listed> found = domains.find(vmId);
            Tracked tracked = farm.get(vmId);
            if (found.isPresent()) {
                FarmMetadata metadata = FarmMetadata.of(found.get().xml()).orElseThrow(() -> new HypervisorException(
                        "domain " + vmId + " on host " + host.name() + " was not defined by the farm; refusing to "
                                + "destroy it"));
                if (!isOurs(metadata)) {
                    throw new HypervisorException("domain " + vmId + " belongs to farm host '" + metadata.host()
                            + "', not " + host.name() + "; refusing to destroy it");
                }
                if (tracked == null || !tracked.uuid.equals(found.get().uuid())) {
                    tracked = farm.track(metadata, found.get().uuid());
                }
                Tracked destroying = tracked;
                domains.destroy(vmId, () -> events.expectDestroyStop(destroying),
                        () -> events.destroyStopNotComing(destroying));
            }
            savedStates.delete(vmId);
            if (simulated != null) {
                simulated.close(vmId); // its ports are free when destroy returns, not only once UNDEFINED arrives
            }
            if (tracked != null) {
                // The domain stays tracked until libvirt's UNDEFINED event has been turned into DESTROYED.
                farm.destroyed(tracked);
                if (found.isEmpty()) {
                    farm.forget(tracked);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<GuestInfo> guests() throws HypervisorException {
        domains.ensureOpen();
        List<GuestInfo> guests = new ArrayList<>();
        for (Domains.Listed domain : domains.list()) {
            Optional<FarmMetadata> metadata = FarmMetadata.of(domain.xml()).filter(this::isOurs);
            if (metadata.isPresent()) {
                FarmMetadata recorded = metadata.get();
                Tracked tracked = farm.get(recorded.vmId());
                if (tracked == null || !tracked.uuid.equals(domain.uuid())) {
                    track(recorded, domain); // defined behind this connection's back (another connection)
                }
                guests.add(recorded.guestInfo(GuestStates.restingState(domain.state(),
                        savedStates.exists(recorded.vmId())), settings.endpointHost()));
            }
        }
        return guests;
    }

    /** The endpoints of a VM the farm knows on this host, rebuilt from its metadata; empty if unknown. */
    Map<String, Endpoint> endpoints(String vmId) {
        Tracked tracked = farm.live(vmId);
        return tracked == null ? Map.of() : endpointsOf(tracked.metadata);
    }

    /** The XML of a VM's domain as libvirt has it now, or "" when the host has none. */
    String domainXml(String vmId) throws HypervisorException {
        return domains.find(vmId).map(Domains.Listed::xml).orElse("");
    }

    /** Where a VM's saved state goes. */
    Path saveFile(String vmId) {
        return savedStates.file(vmId);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (simulated != null) {
            simulated.close();
        }
        closeQuietly();
        onClose.accept(this);
    }

    boolean isClosed() {
        return closed.get();
    }

    /**
     * libvirt's own answer (virConnectIsAlive: no call to the daemon): false once the socket to libvirtd closed, as a
     * restart of the daemon closes it, or once its keep-alive gave up on a remote host.
     */
    @Override
    public boolean alive() {
        if (closed.get()) {
            return false;
        }
        try {
            return libvirt.isAlive();
        } catch (LibvirtException e) {
            return false;
        }
    }

    private void recoverFarmDomains() throws HypervisorException {
        for (Domains.Listed domain : domains.list()) {
            Optional<FarmMetadata> metadata = FarmMetadata.of(domain.xml()).filter(this::isOurs);
            if (metadata.isPresent()) {
                track(metadata.get(), domain);
            }
        }
        LOG.info("host {}: connected to {}, {} farm domain(s) recovered, {} port(s) in use", host.name(),
                settings.shownUri(), farm.size(), farm.portsTaken());
    }

    /** Tracks a farm domain this connection did not define; a test host's guest listens again, and answers if it runs. */
    private void track(FarmMetadata metadata, Domains.Listed domain) {
        farm.track(metadata, domain.uuid());
        if (simulated != null) {
            simulated.listen(metadata);
            if (GuestStates.restingState(domain.state(), false) == org.servicefarm.api.VmState.ACTIVE) {
                simulated.running(metadata.vmId());
            }
        }
    }

    private boolean isOurs(FarmMetadata metadata) {
        return metadata.host().equals(host.name());
    }

    private Map<String, Endpoint> endpointsOf(FarmMetadata metadata) {
        return metadata.endpoints(settings.endpointHost());
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

    /** Runs {@code operation} on the VM's domain under the VM's lock; returns the VM's endpoints. */
    private Map<String, Endpoint> onDomain(String vmId, String what, Domains.Operation operation)
            throws HypervisorException {
        ReentrantLock lock = lockFor(vmId);
        lock.lock();
        try {
            Tracked tracked = requireTracked(vmId);
            domains.run(vmId, what, operation);
            return endpointsOf(tracked.metadata);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The VM's tracked domain; one defined behind this connection's back since it connected (by another appliance
     * sharing the host) is looked up and tracked from its farm metadata first. Called under the VM's lock.
     */
    private Tracked requireTracked(String vmId) throws HypervisorException {
        domains.ensureOpen();
        Tracked tracked = farm.live(vmId);
        if (tracked == null) {
            Optional<Domains.Listed> found = domains.find(vmId);
            Optional<FarmMetadata> metadata = found.isEmpty() ? Optional.empty()
                    : FarmMetadata.of(found.get().xml()).filter(this::isOurs);
            if (metadata.isPresent()) {
                track(metadata.get(), found.get());
                tracked = farm.live(vmId);
            }
        }
        if (tracked == null) {
            throw new HypervisorException("no VM " + vmId + " on host " + host.name());
        }
        return tracked;
    }

    private ReentrantLock lockFor(String vmId) {
        return vmLocks[Math.floorMod(vmId.hashCode(), vmLocks.length)];
    }

    private void closeQuietly() {
        try {
            libvirt.removeLifecycleListener(events);
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("host {}: removing the lifecycle listener failed: {}", host.name(), e.toString());
        }
        try {
            libvirt.close();
        } catch (LibvirtException e) {
            LOG.warn("host {}: closing the libvirt connection failed: {}", host.name(), LibvirtErrors.describe(e));
        }
    }

    @Override
    public String toString() {
        return "libvirt host " + host.name() + " (" + settings.shownUri() + ")";
    }
}
