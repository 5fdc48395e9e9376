package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmEventListener;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One qemu host: the QEMU processes of its guests on this machine, its checkpoints and its pool of pre-started
 * processes, and the farm's record of each VM ({@link VmFile}).
 *
 * <p><b>Start paths.</b> A VM defined from a staged image of kind CHECKPOINT (the location of its CHECKPOINT
 * artifact is the checkpoint's id on this host) starts by a {@link ClonePool#claim}: a pre-started process (RAM
 * mapped copy-on-write from the checkpoint's file) loads the device state and continues; its ports are the ones
 * the pool process was started with. Any other VM boots its image in a new QEMU process.
 *
 * <p><b>Capacity.</b> The host's {@link HostRecord#capacity()} bounds the QEMU processes (VMs) and their memory,
 * counting guests, checkpoint templates and idle pool processes alike; when a guest needs room that idle pool
 * processes hold, one of them is quit ({@link ClonePool#shedIdle}).
 *
 * <p><b>Restart.</b> On connect, live QEMU processes are found again ({@link QemuLauncher#recover}), pool processes
 * return to their pool, and each VM record whose process runs (or whose state is saved) is reported by
 * {@link #guests()}; records of VMs whose process is gone are dropped. On close, processes are left running.
 */
final class QemuHostConnection implements HostConnection {

    private static final Logger LOG = LoggerFactory.getLogger(QemuHostConnection.class);

    /** One VM of the farm on this host. Operations on it hold its monitor. */
    private static final class Vm {
        volatile VmFile file;
        volatile QemuGuest guest;
        /** Set while the driver itself stops the guest: its QMP closing is no event. */
        volatile boolean stopping;

        Vm(VmFile file) {
            this.file = file;
        }
    }

    private final HostRecord host;
    private final HostSettings settings;
    private final QemuDriver.Settings driver;
    private final QemuLauncher launcher;
    private final PortRange ports;
    private final ClonePool.FixedCapacity capacity;
    private final ClonePool pool;
    private final Checkpointer checkpointer;
    private final VmEventListener events;
    private final Consumer<QemuHostConnection> onClose;
    private final Path vmDir;
    private final Path savedDir;
    private final Map<String, Vm> vms = new ConcurrentHashMap<>();
    private final Map<String, Checkpoint> checkpoints = new ConcurrentHashMap<>();
    private final Map<String, Object> checkpointLocks = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private QemuHostConnection(HostRecord host, HostSettings settings, QemuDriver.Settings driver, QemuLauncher launcher,
                               VmEventListener events, Consumer<QemuHostConnection> onClose) throws IOException {
        this.host = host;
        this.settings = settings;
        this.driver = driver;
        this.launcher = launcher;
        this.events = events;
        this.onClose = onClose;
        QemuSettings qemu = launcher.settings();
        this.ports = new PortRange(qemu.bindAddress(), settings.firstPort(), settings.lastPort());
        this.capacity = new ClonePool.FixedCapacity(host.capacity().vms(), host.capacity().memoryMiB());
        this.pool = new ClonePool(new Cloner(launcher), ports, capacity, driver.restoreLimit());
        this.checkpointer = new Checkpointer(launcher, ports);
        this.vmDir = qemu.stateDir().resolve("vms");
        this.savedDir = driver.savedDir(host.name());
        Files.createDirectories(vmDir);
        traversable(qemu.checkpointDir());
        traversable(savedDir);
        traversable(driver.imageDir());
    }

    /** Connects: checks QEMU, finds the host's checkpoints, guests and pool processes again, fills the pool. */
    static QemuHostConnection open(HostRecord host, HostSettings settings, QemuDriver.Settings driver,
                                   VmEventListener events, Consumer<QemuHostConnection> onClose) throws IOException {
        QemuSettings qemu = driver.forHost(host.name());
        if (qemu.runAs() != null && !userExists(qemu.runAs())) {
            throw new IOException("QEMU is to run as user '" + qemu.runAs() + "' (runAs in " + QemuDriver.PID
                    + "), which does not exist on this machine (scripts/qemu-host start creates libvirt-qemu)");
        }
        QemuLauncher launcher = QemuLauncher.create(qemu);
        launcher.qemuVersion();
        QemuHostConnection connection = new QemuHostConnection(host, settings, driver, launcher, events, onClose);
        connection.recover();
        return connection;
    }

    private void recover() throws IOException {
        QemuLauncher.Recovery recovery = launcher.recover();
        recovery.problems().forEach(p -> LOG.warn("host {}: {}", host.name(), p));
        for (Checkpoint cp : checkpointer.list()) {
            checkpoints.put(cp.id(), cp);
        }
        List<QemuGuest> clones = pool.adopt(recovery.attached(), List.copyOf(checkpoints.values()));
        for (QemuGuest g : recovery.attached()) {
            if (g.state().role() == GuestState.Role.TEMPLATE) {
                LOG.info("host {}: quitting checkpoint template {} that an interrupted checkpoint left", host.name(),
                        g.name());
                g.kill();
            }
        }
        int adopted = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(vmDir, "*.json")) {
            for (Path path : files) {
                VmFile file;
                try {
                    file = VmFile.read(path);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("host {}: ignoring unreadable VM record {}: {}", host.name(), path, e.getMessage());
                    continue;
                }
                Optional<QemuGuest> guest = recovery.attached().stream()
                        .filter(g -> g.name().equals(file.guest()) && g.state().role() != GuestState.Role.POOL)
                        .findFirst();
                boolean saved = file.saved() && Files.exists(savedFile(file.vmId()));
                if (guest.isEmpty() && !saved) {
                    LOG.info("host {}: VM {} no longer runs; forgetting it", host.name(), file.vmId());
                    Files.deleteIfExists(path);
                    continue;
                }
                Vm vm = new Vm(file);
                vms.put(file.vmId(), vm);
                if (guest.isPresent()) {
                    vm.guest = guest.get();
                    if (!clones.contains(guest.get())) { // the pool counted its clones already
                        guest.get().forwards().forEach(f -> ports.reserve(f.hostPort()));
                        capacity.tryReserve((int) file.memoryMiB());
                    }
                    watch(vm, guest.get());
                }
                adopted++;
            }
        }
        for (Checkpoint cp : checkpoints.values()) {
            pool.setSize(cp, settings.poolSize());
        }
        LOG.info("host {}: QEMU {} ({}), {} checkpoint(s), {} VM(s) found again, pool size {}", host.name(),
                launcher.qemuVersion(), launcher.settings().machine(), checkpoints.size(), adopted, settings.poolSize());
    }

    @Override
    public HostRecord host() {
        return host;
    }

    @Override
    public boolean restoresCheckpoints() {
        return true;
    }

    // ---- images ---------------------------------------------------------------------------------

    /**
     * Stages the kernel, initrd and disk into the image directory, one file per sha256 (a hard link when the image
     * store is on the same file system, else a verified copy). A checkpoint image stages to its checkpoint's id,
     * when this host holds that checkpoint.
     */
    @Override
    public StagedImage stage(ImageRef image) throws HypervisorException {
        requireOpen();
        if (image.compositionOnly()) {
            throw new HypervisorException("host " + host.name() + " boots real guests, and image " + image.id()
                    + " is a composition only: " + (image.reason() == null ? "it has no artifacts" : image.reason()));
        }
        Map<Artifact.Kind, String> locations = new EnumMap<>(Artifact.Kind.class);
        if (image.kind() == ImageRef.Kind.CHECKPOINT) {
            Artifact artifact = image.artifact(Artifact.Kind.CHECKPOINT).orElseThrow(() -> new HypervisorException(
                    "checkpoint image " + image.id() + " has no CHECKPOINT artifact"));
            Checkpoint cp = checkpoints.values().stream()
                    .filter(c -> c.manifestFile().equals(artifact.file())).findFirst()
                    .orElseThrow(() -> new HypervisorException("host " + host.name() + " holds no checkpoint "
                            + artifact.file()));
            try {
                if (!sha256(cp.manifestFile()).equals(artifact.sha256())) {
                    throw new HypervisorException("checkpoint " + cp.id() + " on host " + host.name()
                            + " is not the one image " + image.id() + " records (its manifest changed)");
                }
            } catch (IOException e) {
                throw new HypervisorException("checkpoint " + cp.id() + " on host " + host.name()
                        + " cannot be read: " + e.getMessage(), e);
            }
            locations.put(Artifact.Kind.CHECKPOINT, cp.id());
            return new StagedImage(image, locations);
        }
        for (Artifact artifact : image.artifacts()) {
            if (artifact.kind() == Artifact.Kind.CHECKPOINT) {
                continue;
            }
            try {
                locations.put(artifact.kind(), stageFile(artifact).toString());
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": staging " + artifact.kind() + " of image "
                        + image.id() + " failed: " + Checks.message(e.getMessage(), 300), e);
            }
        }
        if (!locations.containsKey(Artifact.Kind.KERNEL) || !locations.containsKey(Artifact.Kind.INITRD)) {
            throw new HypervisorException("image " + image.id() + " has no kernel or no initrd");
        }
        return new StagedImage(image, locations);
    }

    private Path stageFile(Artifact artifact) throws IOException {
        Path target = driver.imageDir().resolve(artifact.sha256());
        synchronized (StagedFiles.lock(target)) { // not unstaged meanwhile, nor staged by another host at once
            return stageFile(artifact, target);
        }
    }

    private Path stageFile(Artifact artifact, Path target) throws IOException {
        if (Files.isRegularFile(target) && Files.size(target) == artifact.sizeBytes()) {
            return target;
        }
        Path tmp = driver.imageDir().resolve(".staging-" + artifact.sha256() + "-" + Thread.currentThread().getId());
        Files.deleteIfExists(tmp);
        try {
            Files.createLink(tmp, artifact.file());
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(artifact.file(), tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        if (!sha256(tmp).equals(artifact.sha256())) {
            Files.deleteIfExists(tmp);
            throw new IOException("the content of " + artifact.file() + " does not match its sha256");
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /** What the image directory, shared by every qemu host of the appliance, holds beyond {@code needed}. */
    @Override
    public List<StagedContent> stagedBeyond(Collection<ImageRef> needed) throws HypervisorException {
        requireOpen();
        return StagedFiles.beyond(driver, needed);
    }

    @Override
    public void unstage(String id) throws HypervisorException {
        requireOpen();
        StagedFiles.unstage(driver, id);
    }

    /** The file system of the image directory, which every qemu host of the appliance shares. */
    @Override
    public Optional<StagingSpace> stagingSpace() throws HypervisorException {
        requireOpen();
        return StagedFiles.space(driver);
    }

    // ---- VMs ------------------------------------------------------------------------------------

    @Override
    public void define(VmSpec spec) throws HypervisorException {
        requireOpen();
        String vmId = name("VM id", spec.vmId());
        if (spec.services().isEmpty()) {
            throw new HypervisorException("VM " + vmId + " names no service");
        }
        if (spec.memoryMiB() > Integer.MAX_VALUE || spec.vcpus() < 1) {
            throw new HypervisorException("VM " + vmId + ": " + spec.vcpus() + " vCPUs, " + spec.memoryMiB() + " MiB");
        }
        List<VmFile.Port> bindings = new ArrayList<>();
        synchronized (vms) {
            if (vms.containsKey(vmId)) {
                throw new HypervisorException("VM " + vmId + " is already defined on host " + host.name());
            }
            String checkpointId = spec.image().location(Artifact.Kind.CHECKPOINT).orElse(null);
            Image image;
            List<Integer> hostPorts = List.of();
            if (checkpointId != null) {
                Checkpoint cp = checkpoints.get(checkpointId);
                if (cp == null) {
                    throw new HypervisorException("host " + host.name() + " holds no checkpoint " + checkpointId);
                }
                List<Integer> wanted = spec.services().stream().map(VmSpec.GuestService::guestPort).toList();
                if (!wanted.equals(cp.guestPorts())) {
                    throw new HypervisorException("checkpoint " + cp.id() + " serves guest ports " + cp.guestPorts()
                            + ", VM " + vmId + " wants " + wanted);
                }
                image = cp.image();
            } else {
                image = image(spec.image());
                try {
                    hostPorts = ports.allocate(spec.services().size());
                } catch (IOException e) {
                    throw new HypervisorException("host " + host.name() + ": " + e.getMessage(), e);
                }
            }
            for (int i = 0; i < spec.services().size(); i++) {
                VmSpec.GuestService service = spec.services().get(i);
                bindings.add(new VmFile.Port(service.name(), service.guestPort(),
                        hostPorts.isEmpty() ? 0 : hostPorts.get(i)));
            }
            VmFile file = VmFile.of(spec, host.name(), bindings, image, checkpointId);
            try {
                file.write(vmFile(vmId));
            } catch (IOException | RuntimeException e) {
                hostPorts.forEach(ports::release);
                throw new HypervisorException("host " + host.name() + ": cannot record VM " + vmId + ": "
                        + e.getMessage(), e);
            }
            vms.put(vmId, new Vm(file));
        }
    }

    /** A staged image as QEMU boots it; every path was staged by this host into its image directory. */
    private Image image(StagedImage staged) throws HypervisorException {
        try {
            String kernel = staged.location(Artifact.Kind.KERNEL).orElseThrow();
            String initrd = staged.location(Artifact.Kind.INITRD).orElseThrow();
            String disk = staged.location(Artifact.Kind.DISK).orElse(null);
            List<Path> roots = List.of(driver.imageDir());
            return new Image(staged.image().id(), Checks.under("kernel", Path.of(kernel), roots),
                    Checks.under("initrd", Path.of(initrd), roots),
                    disk == null ? null : Checks.under("disk", Path.of(disk), roots), staged.image().kernelArgs(),
                    (int) staged.image().minMemoryMiB());
        } catch (RuntimeException e) {
            throw new HypervisorException("image " + staged.image().id() + " is not staged on host " + host.name()
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, Endpoint> start(String vmId) throws HypervisorException {
        Vm vm = require(vmId);
        synchronized (vm) {
            if (vm.guest != null && vm.guest.alive()) {
                throw new HypervisorException("VM " + vmId + " runs already");
            }
            VmFile file = vm.file;
            QemuGuest guest;
            try {
                if (file.checkpoint() != null) {
                    guest = claim(checkpoints.get(file.checkpoint()));
                } else {
                    reserve((int) file.memoryMiB());
                    try {
                        guest = launcher.launch(bootSpec(file, false), GuestState.Role.GUEST, null);
                    } catch (IOException | RuntimeException e) {
                        capacity.release((int) file.memoryMiB());
                        throw e;
                    }
                }
            } catch (IOException | RuntimeException e) {
                throw new HypervisorException("host " + host.name() + ": starting VM " + vmId + " failed: "
                        + Checks.message(e.getMessage(), 400), e);
            }
            return running(vm, guest);
        }
    }

    /** A clone of the checkpoint: an idle pool process takes its state (room is made when the host is full). */
    private QemuGuest claim(Checkpoint cp) throws IOException {
        if (cp == null) {
            throw new IOException("its checkpoint is gone from this host");
        }
        try {
            return pool.claim(cp);
        } catch (ClonePool.NoCapacityException e) {
            if (!pool.shedIdle()) {
                throw e;
            }
            return pool.claim(cp);
        }
    }

    /** Reserves room for a guest, quitting idle pool processes while they hold it. */
    private void reserve(int memoryMiB) throws IOException {
        while (!capacity.tryReserve(memoryMiB)) {
            if (!pool.shedIdle()) {
                throw new IOException("no capacity left (" + host.capacity().vms() + " VMs, "
                        + host.capacity().memoryMiB() + " MiB)");
            }
        }
    }

    private GuestSpec bootSpec(VmFile file, boolean incoming) {
        List<GuestSpec.Forward> forwards = file.ports().stream()
                .map(p -> new GuestSpec.Forward(p.hostPort(), p.guestPort())).toList();
        return new GuestSpec(file.vmId(), file.image(), (int) file.memoryMiB(), file.vcpus(), GuestSpec.Ram.anonymous(),
                forwards, incoming);
    }

    /** Records the guest that now runs the VM, and its ports. Called under the VM's monitor. */
    private Map<String, Endpoint> running(Vm vm, QemuGuest guest) throws HypervisorException {
        List<VmFile.Port> bound = new ArrayList<>();
        for (VmFile.Port port : vm.file.ports()) {
            int hostPort = guest.hostPort(port.guestPort()).orElse(0);
            bound.add(new VmFile.Port(port.service(), port.guestPort(), hostPort));
        }
        VmFile file = vm.file.withSaved(false).withGuest(guest.name(), bound);
        try {
            file.write(vmFile(file.vmId()));
        } catch (IOException e) {
            LOG.warn("host {}: cannot record VM {}: {}", host.name(), file.vmId(), e.getMessage());
        }
        vm.file = file;
        vm.guest = guest;
        vm.stopping = false;
        watch(vm, guest);
        return file.endpoints(settings.endpointHost());
    }

    /**
     * A guest whose QEMU goes away without the driver stopping it has FAILED; its ports and room come back at once
     * (nothing else would give them back: the VM has no guest left to stop). Off the QMP reader's thread: the VM's
     * monitor may be held by a caller waiting on this guest's QMP.
     */
    private void watch(Vm vm, QemuGuest guest) {
        guest.disconnected().thenRunAsync(() -> {
            synchronized (vm) {
                if (closed.get() || vm.stopping || vm.guest != guest) {
                    return;
                }
                vm.guest = null;
                giveBack(vm, guest);
            }
            LOG.warn("host {}: QEMU of VM {} ({}) went away", host.name(), vm.file.vmId(), guest.name());
            events.onEvent(new VmEvent(host.name(), vm.file.vmId(), VmState.FAILED, "QEMU exited"));
        });
    }

    @Override
    public void suspend(String vmId) throws HypervisorException {
        Vm vm = require(vmId);
        synchronized (vm) {
            try {
                runningGuest(vm).pause();
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": suspending " + vmId + " failed: "
                        + e.getMessage(), e);
            }
        }
    }

    @Override
    public Map<String, Endpoint> resume(String vmId) throws HypervisorException {
        Vm vm = require(vmId);
        synchronized (vm) {
            try {
                runningGuest(vm).resume();
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": resuming " + vmId + " failed: "
                        + e.getMessage(), e);
            }
            return vm.file.endpoints(settings.endpointHost());
        }
    }

    /** Saves the whole guest (RAM included: a clone's too, so the restore needs no checkpoint) and stops it. */
    @Override
    public void save(String vmId) throws HypervisorException {
        Vm vm = require(vmId);
        synchronized (vm) {
            QemuGuest guest = runningGuest(vm);
            try {
                guest.pause();
                Migration.save(guest, savedFile(vmId), false, launcher.settings().runAs(), driver.restoreLimit());
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": saving " + vmId + " failed: "
                        + Checks.message(e.getMessage(), 300), e);
            }
            stop(vm);
            VmFile file = vm.file.withSaved(true);
            try {
                file.write(vmFile(vmId));
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": cannot record VM " + vmId + ": "
                        + e.getMessage(), e);
            }
            vm.file = file;
        }
    }

    @Override
    public Map<String, Endpoint> restore(String vmId) throws HypervisorException {
        Vm vm = require(vmId);
        synchronized (vm) {
            VmFile file = vm.file;
            Path saved = savedFile(vmId);
            if (!file.saved() || !Files.exists(saved)) {
                throw new HypervisorException("VM " + vmId + " on host " + host.name() + " has no saved state");
            }
            List<Integer> hostPorts = List.of();
            QemuGuest guest = null;
            try {
                reserve((int) file.memoryMiB());
                hostPorts = ports.allocate(file.ports().size());
                List<VmFile.Port> bound = new ArrayList<>();
                for (int i = 0; i < hostPorts.size(); i++) {
                    VmFile.Port p = file.ports().get(i);
                    bound.add(new VmFile.Port(p.service(), p.guestPort(), hostPorts.get(i)));
                }
                VmFile withPorts = file.withGuest(vmId, bound);
                guest = launcher.launch(bootSpec(withPorts, true), GuestState.Role.GUEST, null);
                Migration.load(guest, saved, false, driver.restoreLimit());
                vm.file = withPorts;
                Map<String, Endpoint> endpoints = running(vm, guest);
                Files.deleteIfExists(saved);
                return endpoints;
            } catch (IOException | RuntimeException e) {
                if (guest != null) {
                    guest.kill();
                }
                hostPorts.forEach(ports::release);
                capacity.release((int) file.memoryMiB());
                throw new HypervisorException("host " + host.name() + ": restoring " + vmId + " failed: "
                        + Checks.message(e.getMessage(), 300), e);
            }
        }
    }

    @Override
    public void destroy(String vmId) throws HypervisorException {
        requireOpen();
        Vm vm = vms.get(vmId);
        if (vm == null) {
            return;
        }
        synchronized (vm) {
            // a VM without a guest holds no ports or room: never started, saved, or gone (given back then)
            if (vm.guest != null) {
                stop(vm);
            }
            try {
                Files.deleteIfExists(savedFile(vmId));
                Files.deleteIfExists(vmFile(vmId));
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": removing the files of " + vmId + " failed: "
                        + e.getMessage(), e);
            }
            vms.remove(vmId, vm);
        }
        pool.topUp();
    }

    /** Quits the VM's QEMU and gives back its ports and room. Called under the VM's monitor. */
    private void stop(Vm vm) {
        QemuGuest guest = vm.guest;
        vm.stopping = true;
        vm.guest = null;
        if (guest != null) {
            giveBack(vm, guest);
        }
    }

    /** Quits the guest (nothing happens to one that is gone) and gives back its ports and room. */
    private void giveBack(Vm vm, QemuGuest guest) {
        if (guest.state().role() == GuestState.Role.CLONE && guest.state().checkpoint() != null
                && checkpoints.containsKey(guest.state().checkpoint())) {
            pool.retire(guest); // its ports and room are the pool's
        } else {
            guest.quit(Duration.ofSeconds(10));
            guest.forwards().forEach(f -> ports.release(f.hostPort()));
            capacity.release((int) vm.file.memoryMiB());
        }
    }

    @Override
    public List<GuestInfo> guests() throws HypervisorException {
        requireOpen();
        List<GuestInfo> guests = new ArrayList<>();
        for (Vm vm : vms.values()) {
            VmFile file = vm.file;
            VmState state = state(vm);
            try {
                guests.add(new GuestInfo.Recorded(file.metadata(settings.endpointHost()), state));
            } catch (RuntimeException e) {
                guests.add(new GuestInfo.Unrecorded(file.vmId(), state, "its farm record is invalid: "
                        + Checks.message(e.getMessage(), 200)));
            }
        }
        return guests;
    }

    private VmState state(Vm vm) {
        QemuGuest guest = vm.guest;
        if (guest != null && guest.alive()) {
            try {
                String status = guest.status();
                return "running".equals(status) ? VmState.ACTIVE : "paused".equals(status) ? VmState.SLEEPING
                        : VmState.FAILED;
            } catch (QmpException e) {
                return VmState.FAILED;
            }
        }
        return vm.file.saved() && Files.exists(savedFile(vm.file.vmId())) ? VmState.ARCHIVED : VmState.FAILED;
    }

    // ---- checkpoints ----------------------------------------------------------------------------

    /**
     * Boots the staged image with its RAM in the checkpoint's file, waits until every service answers, saves the
     * device state, quits the template and starts the checkpoint's pool. One checkpoint per image: concurrent calls
     * for one image make it once.
     */
    @Override
    public HostCheckpoint checkpoint(VmSpec template) throws HypervisorException {
        requireOpen();
        if (template.image().image().kind() == ImageRef.Kind.CHECKPOINT) {
            throw new HypervisorException("image " + template.image().image().id() + " is a checkpoint already");
        }
        String id = checkpointId(template.image().image().id());
        synchronized (checkpointLocks.computeIfAbsent(id, k -> new Object())) {
            Checkpoint existing = checkpoints.get(id);
            if (existing != null) {
                return info(existing);
            }
            Image image = image(template.image());
            int memory = (int) Math.max(template.memoryMiB(), image.minMemoryMiB());
            List<Integer> guestPorts = template.services().stream().map(VmSpec.GuestService::guestPort).toList();
            try {
                reserve(memory);
                Checkpoint cp;
                try {
                    cp = checkpointer.create(id, image, memory, guestPorts, new Checkpointer.Options(
                            driver.bootLimit(), "/", Duration.ofMillis(300), false, template.vcpus()));
                } finally {
                    capacity.release(memory);
                }
                checkpoints.put(id, cp);
                pool.setSize(cp, settings.poolSize());
                LOG.info("host {}: checkpoint {} of image {} made: {}", host.name(), id, image.key(), cp.timings());
                return info(cp);
            } catch (IOException | RuntimeException e) {
                throw new HypervisorException("host " + host.name() + ": checkpointing image "
                        + template.image().image().id() + " failed: " + Checks.message(e.getMessage(), 400), e);
            }
        }
    }

    @Override
    public List<HostCheckpoint> checkpoints() throws HypervisorException {
        requireOpen();
        List<HostCheckpoint> out = new ArrayList<>();
        for (Checkpoint cp : checkpoints.values()) {
            out.add(info(cp));
        }
        return out;
    }

    /**
     * Deletes a checkpoint and empties its pool. Refused while VMs of this host run from it: a clone's RAM is mapped
     * from the checkpoint's file, and saving or restoring it needs the checkpoint (the caller asks again later).
     */
    @Override
    public void deleteCheckpoint(String id) throws HypervisorException {
        requireOpen();
        synchronized (checkpointLocks.computeIfAbsent(id, k -> new Object())) {
            Checkpoint cp = checkpoints.get(id);
            if (cp == null) {
                return;
            }
            long users = vms.values().stream().filter(vm -> id.equals(vm.file.checkpoint())).count();
            if (users > 0) {
                throw new HypervisorException("host " + host.name() + ": checkpoint " + id + " is in use by " + users
                        + " VM(s)");
            }
            checkpoints.remove(id);
            if (!pool.empty(cp, Duration.ofSeconds(30))) {
                LOG.warn("host {}: the pool of checkpoint {} did not empty in 30 s", host.name(), id);
            }
            try {
                checkpointer.delete(cp);
            } catch (IOException e) {
                throw new HypervisorException("host " + host.name() + ": deleting checkpoint " + id + " failed: "
                        + Checks.message(e.getMessage(), 300), e);
            }
            LOG.info("host {}: checkpoint {} of image {} deleted", host.name(), id, cp.image().key());
        }
    }

    /** A checkpoint's id on this host, from its image's id: the image id's content digest keys it. */
    static String checkpointId(String imageId) {
        if (imageId.matches("[a-z0-9]{1,32}")) {
            return "cp-" + imageId;
        }
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return "cp-" + HexFormat.of().formatHex(digest.digest(imageId.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                    .substring(0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private HostCheckpoint info(Checkpoint cp) throws HypervisorException {
        try {
            long size = Files.size(cp.ramFile()) + Files.size(cp.stateFile());
            Long boot = cp.timings().get("bootToReady");
            return new HostCheckpoint(cp.id(), host.name(), cp.image().key(), cp.manifestFile(), sha256(cp.manifestFile()),
                    size, Instant.ofEpochMilli(cp.createdMillis()), "QEMU " + cp.qemuVersion() + ", " + cp.machine()
                    + ", " + cp.memoryMiB() + " MiB" + (boot == null ? "" : ", booted to answer in " + boot + " ms"));
        } catch (IOException e) {
            throw new HypervisorException("checkpoint " + cp.id() + " on host " + host.name() + " cannot be read: "
                    + e.getMessage(), e);
        }
    }

    /** QEMU processes counted against the host's capacity now: guests, templates, idle pool processes (tests). */
    int processes() {
        return capacity.processes();
    }

    /** Idle pool processes of a checkpoint now (tests, benchmarks). */
    int idle(String checkpointId) {
        return pool.idle(checkpointId);
    }

    boolean awaitPool(String checkpointId, Duration timeout) {
        return pool.awaitFull(checkpointId, timeout);
    }

    // ---- connection -----------------------------------------------------------------------------

    /** Stops the pool's refills and leaves every process running: a restarted appliance adopts them. */
    @Override
    public void close() {
        close(false);
    }

    /** The host left the farm: its idle pool processes quit (nothing would adopt them); guests keep running. */
    @Override
    public void retire() {
        close(true);
    }

    private void close(boolean retiring) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (retiring) {
            pool.close();
            LOG.info("host {} left the farm: its pool processes were stopped", host.name());
        } else {
            pool.detach();
        }
        launcher.detachAll();
        onClose.accept(this);
    }

    private void requireOpen() throws HypervisorException {
        if (closed.get()) {
            throw new HypervisorException("the connection to host " + host.name() + " is closed");
        }
    }

    private Vm require(String vmId) throws HypervisorException {
        requireOpen();
        Vm vm = vms.get(vmId);
        if (vm == null) {
            throw new HypervisorException("no VM " + Checks.excerpt(vmId) + " on host " + host.name());
        }
        return vm;
    }

    private QemuGuest runningGuest(Vm vm) throws HypervisorException {
        QemuGuest guest = vm.guest;
        if (guest == null || !guest.alive()) {
            throw new HypervisorException("VM " + vm.file.vmId() + " does not run on host " + host.name());
        }
        return guest;
    }

    private static String name(String field, String value) throws HypervisorException {
        try {
            return Checks.name(field, value);
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(e.getMessage());
        }
    }

    private Path vmFile(String vmId) {
        return vmDir.resolve(vmId + ".json");
    }

    private Path savedFile(String vmId) {
        return savedDir.resolve(vmId + ".state");
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Creates a directory QEMU's user can traverse (and read), with its parents. */
    private static void traversable(Path dir) throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }

    private static boolean userExists(String user) throws IOException {
        return Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith(user + ":"));
    }

    @Override
    public String toString() {
        return "qemu host " + host.name();
    }
}
