package org.servicefarm.core.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEventListener;
import org.servicefarm.api.image.ImageRef;

import com.sun.net.httpserver.HttpServer;

/**
 * An in-memory hypervisor for the core's unit tests: it keeps guest states like a hypervisor
 * would and refuses operations a hypervisor would refuse, and a test can hold boots at a gate
 * to see what the manager does meanwhile. Its guests' services answer for real, on one HTTP
 * server on loopback, while {@link #answering} is set: the core's readiness probe is the same
 * as in the appliance. The real driver is tested against libvirt itself.
 * Its rules: a host's uri is {@code fake:///<anything>}, and its properties are {@code slow} and {@code bits}: a host
 * with {@code bits} boots its guests from an image's artifacts (as QEMU does), one without only simulates them (as
 * libvirt's test driver does) and runs composition-only images too.
 */
final class FakeHypervisor implements HypervisorDriver, AutoCloseable {

    final Map<String, Map<String, VmState>> guestsByHost = new ConcurrentHashMap<>();
    /** What the farm recorded on each guest at define, as a real hypervisor keeps it beside the guest; by VM id. */
    final Map<String, GuestMetadata> recorded = new ConcurrentHashMap<>();
    final Map<String, VmEventListener> listeners = new ConcurrentHashMap<>();
    final AtomicInteger stages = new AtomicInteger();
    final AtomicInteger defines = new AtomicInteger();
    final AtomicInteger destroys = new AtomicInteger();
    final AtomicInteger restores = new AtomicInteger();
    final AtomicInteger relocations = new AtomicInteger();
    final AtomicInteger validations = new AtomicInteger();
    /** The tier each archived guest is kept in, by VM id. */
    final Map<String, org.servicefarm.api.ArchiveTier> tiers = new ConcurrentHashMap<>();
    /** A saved state's bytes, and each tier's share of it: what the core records of an archive. */
    static final long SAVED_BYTES = 64L << 20;
    /** Hosts whose driver refuses every archive (a full disk, say). */
    final Set<String> archiveFailing = ConcurrentHashMap.newKeySet();
    /** VMs whose resume and restore the host refuses, as when a saved state cannot be read back. */
    final Set<String> wakeFailing = ConcurrentHashMap.newKeySet();
    final AtomicInteger connects = new AtomicInteger();
    volatile CountDownLatch bootGate = new CountDownLatch(0);
    /** Hosts whose connection has ended (their daemon restarted, say): {@code alive()} is false until the next connect. */
    final Set<String> lostConnections = ConcurrentHashMap.newKeySet();
    /** Hosts no connect reaches, as when their hypervisor's daemon is down. */
    final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    /** Hosts whose driver refuses every define, as a failing hypervisor would. */
    final Set<String> failingHosts = ConcurrentHashMap.newKeySet();
    /** Checkpoints made, by host, and the VMs that were defined from one. */
    final Map<String, List<HostCheckpoint>> checkpointsByHost = new ConcurrentHashMap<>();
    final Set<String> fromCheckpoint = ConcurrentHashMap.newKeySet();
    /** What each host holds staged: an artifact's sha256 to its bytes, as a driver keeps one per content. */
    final Map<String, Map<String, Long>> stagedByHost = new ConcurrentHashMap<>();
    /** Staged content ("host/sha256") a guest uses, which the host refuses to unstage. */
    final Set<String> stagedInUse = ConcurrentHashMap.newKeySet();
    /** A host's staging space, by host: its capacity; what its staged content does not take is available. */
    final Map<String, Long> stagingCapacity = new ConcurrentHashMap<>();
    /** Run when a host is asked for its guests, before it lists them and after: a move that ends while it answers. */
    volatile Runnable beforeListing = () -> { };
    volatile Runnable afterListing = () -> { };
    /** Whether the guests' services answer; when not, their connections are closed without an answer. */
    volatile boolean answering = true;
    /** Every GET the guests' services were asked (the core's probes). */
    final java.util.concurrent.atomic.AtomicInteger serviceGets = new java.util.concurrent.atomic.AtomicInteger();
    private final HttpServer services;
    private final Endpoint endpoint;

    FakeHypervisor() {
        try {
            services = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        services.createContext("/", exchange -> {
            serviceGets.incrementAndGet();
            if (answering) {
                exchange.sendResponseHeaders(200, -1);
            }
            exchange.close();
        });
        services.start();
        endpoint = new Endpoint("127.0.0.1", services.getAddress().getPort());
    }

    @Override
    public void close() {
        services.stop(0);
    }

    @Override
    public void validate(HostRecord host) {
        validations.incrementAndGet();
        if (!host.uri().startsWith("fake:///")) {
            throw new InvalidRequestException("uri", "the fake driver takes fake:/// URIs only");
        }
        for (String key : host.properties().keySet()) {
            if (!key.equals("slow") && !key.equals("bits") && !key.equals("checkpoints") && !key.equals("savedOnly")) {
                throw new InvalidRequestException("properties." + key, "properties." + key + " is not a fake setting");
            }
        }
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
        try {
            validate(host); // a driver's connect applies its rules too
        } catch (InvalidRequestException e) {
            throw new HypervisorException(e.getMessage());
        }
        if (unreachable.contains(host.name())) {
            throw new HypervisorException("host " + host.name() + ": cannot connect to " + host.uri()
                    + ": no hypervisor answers");
        }
        connects.incrementAndGet();
        lostConnections.remove(host.name());
        Map<String, VmState> guests = guestsByHost.computeIfAbsent(host.name(), k -> new ConcurrentHashMap<>());
        listeners.put(host.name(), events);
        return new HostConnection() {
            @Override
            public HostRecord host() {
                return host;
            }

            @Override
            public boolean needsArtifacts() {
                return host.properties().containsKey("bits");
            }

            /** A host with the property {@code checkpoints} makes and restores checkpoints, as the qemu driver does. */
            @Override
            public boolean restoresCheckpoints() {
                return host.properties().containsKey("checkpoints");
            }

            @Override
            public HostCheckpoint checkpoint(org.servicefarm.api.driver.VmSpec template) throws HypervisorException {
                if (!restoresCheckpoints()) {
                    return HostConnection.super.checkpoint(template);
                }
                String imageId = template.image().image().id();
                List<HostCheckpoint> held = checkpointsByHost.computeIfAbsent(host.name(),
                        k -> new java.util.concurrent.CopyOnWriteArrayList<>());
                for (HostCheckpoint checkpoint : held) {
                    if (checkpoint.imageId().equals(imageId)) {
                        return checkpoint;
                    }
                }
                HostCheckpoint made = new HostCheckpoint("cp-" + held.size(), host.name(), imageId,
                        java.nio.file.Path.of("/fake/" + host.name() + "/cp-" + held.size() + "/manifest.json"),
                        "c".repeat(64), 1 << 20, java.time.Instant.now(), "fake");
                held.add(made);
                return made;
            }

            @Override
            public List<HostCheckpoint> checkpoints() {
                return List.copyOf(checkpointsByHost.getOrDefault(host.name(), List.of()));
            }

            @Override
            public void deleteCheckpoint(String id) {
                checkpointsByHost.getOrDefault(host.name(), List.of()).removeIf(c -> c.id().equals(id));
            }

            @Override
            public List<org.servicefarm.api.driver.StagedContent> stagedBeyond(java.util.Collection<ImageRef> needed) {
                Set<String> wanted = new java.util.HashSet<>();
                needed.forEach(image -> image.artifacts().forEach(artifact -> wanted.add(artifact.sha256())));
                return stagedByHost.getOrDefault(host.name(), Map.of()).entrySet().stream()
                        .filter(e -> !wanted.contains(e.getKey()))
                        .map(e -> new org.servicefarm.api.driver.StagedContent(e.getKey(), "volume " + e.getKey(),
                                e.getValue()))
                        .sorted(java.util.Comparator.comparing(org.servicefarm.api.driver.StagedContent::id))
                        .toList();
            }

            @Override
            public java.util.Optional<org.servicefarm.api.driver.StagingSpace> stagingSpace() {
                Long capacity = stagingCapacity.get(host.name());
                long used = stagedByHost.getOrDefault(host.name(), Map.of()).values().stream()
                        .mapToLong(Long::longValue).sum();
                return capacity == null ? java.util.Optional.empty()
                        : java.util.Optional.of(new org.servicefarm.api.driver.StagingSpace(capacity, capacity - used));
            }

            @Override
            public void unstage(String id) throws HypervisorException {
                if (stagedInUse.contains(host.name() + "/" + id)) {
                    throw new HypervisorException("guest x uses volume " + id);
                }
                stagedByHost.getOrDefault(host.name(), new ConcurrentHashMap<>()).remove(id);
            }

            @Override
            public StagedImage stage(ImageRef image) throws HypervisorException {
                if (image.compositionOnly() && needsArtifacts()) {
                    throw new HypervisorException("host " + host.name() + " boots real guests: image " + image.id()
                            + " is a composition only");
                }
                if (stagingSpace().map(space -> space.availableBytes() == 0).orElse(false)) {
                    throw new HypervisorException("host " + host.name() + ": cannot write volume: No space left on "
                            + "device");
                }
                stages.incrementAndGet();
                image.artifacts().forEach(artifact -> stagedByHost.computeIfAbsent(host.name(),
                        k -> new ConcurrentHashMap<>()).put(artifact.sha256(), artifact.sizeBytes()));
                if (image.kind() == ImageRef.Kind.CHECKPOINT) {
                    java.nio.file.Path manifest = image.artifact(org.servicefarm.api.image.Artifact.Kind.CHECKPOINT)
                            .orElseThrow().file();
                    HostCheckpoint held = checkpoints().stream().filter(c -> c.manifest().equals(manifest)).findFirst()
                            .orElseThrow(() -> new HypervisorException("no checkpoint " + manifest));
                    return new StagedImage(image, Map.of(org.servicefarm.api.image.Artifact.Kind.CHECKPOINT, held.id()));
                }
                return new StagedImage(image, Map.of());
            }

            @Override
            public void define(org.servicefarm.api.driver.VmSpec spec) throws HypervisorException {
                if (failingHosts.contains(host.name())) {
                    throw new HypervisorException("host " + host.name() + " is failing");
                }
                if (guests.putIfAbsent(spec.vmId(), VmState.DESTROYED) != null) {
                    throw new HypervisorException("domain " + spec.vmId() + " exists");
                }
                defines.incrementAndGet();
                if (spec.image().location(org.servicefarm.api.image.Artifact.Kind.CHECKPOINT).isPresent()) {
                    fromCheckpoint.add(spec.vmId());
                }
                Map<String, Endpoint> endpoints = new java.util.HashMap<>();
                spec.services().forEach(s -> endpoints.put(s.name(), endpoint));
                recorded.put(spec.vmId(), new GuestMetadata(spec.vmId(), spec.offering(), spec.image().image().id(),
                        new Capacity(spec.vcpus(), spec.memoryMiB(), 1), endpoints, spec.createdAt()));
            }

            @Override
            public Map<String, Endpoint> start(String vmId) throws HypervisorException {
                try {
                    if (!bootGate.await(60, TimeUnit.SECONDS)) {
                        throw new HypervisorException("boot of " + vmId + " timed out");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new HypervisorException("interrupted");
                }
                expect(vmId, VmState.DESTROYED);
                guests.put(vmId, VmState.ACTIVE);
                return endpoints(vmId);
            }

            @Override
            public void suspend(String vmId) throws HypervisorException {
                expect(vmId, VmState.ACTIVE);
                guests.put(vmId, VmState.SLEEPING);
            }

            @Override
            public Map<String, Endpoint> resume(String vmId) throws HypervisorException {
                expect(vmId, VmState.SLEEPING);
                refuseWake(vmId);
                guests.put(vmId, VmState.ACTIVE);
                return endpoints(vmId);
            }

            @Override
            public void save(String vmId) throws HypervisorException {
                if (guests.get(vmId) != VmState.ACTIVE && guests.get(vmId) != VmState.SLEEPING) {
                    throw new HypervisorException(vmId + " is not running");
                }
                guests.put(vmId, VmState.ARCHIVED);
            }

            /** Every tier, unless the host has the property {@code savedOnly} (as the qemu driver's hosts). */
            @Override
            public java.util.Set<org.servicefarm.api.ArchiveTier> archiveTiers() {
                return host.properties().containsKey("savedOnly") ? HostConnection.super.archiveTiers()
                        : java.util.EnumSet.allOf(org.servicefarm.api.ArchiveTier.class);
            }

            @Override
            public org.servicefarm.api.Archive archive(String vmId, org.servicefarm.api.ArchiveTier tier, int level)
                    throws HypervisorException {
                if (!archiveTiers().contains(tier)) {
                    return HostConnection.super.archive(vmId, tier, level); // refused, as the default refuses it
                }
                if (archiveFailing.contains(host.name())) {
                    throw new HypervisorException("host " + host.name() + " has no room for archives");
                }
                if (guests.get(vmId) != VmState.ARCHIVED) {
                    save(vmId);
                }
                tiers.put(vmId, tier);
                long bytes = switch (tier) {
                    case SAVED -> SAVED_BYTES;
                    case COMPRESSED -> SAVED_BYTES / 3;
                    case DELTA -> SAVED_BYTES / 20;
                };
                return new org.servicefarm.api.Archive(tier, bytes, SAVED_BYTES);
            }

            @Override
            public org.servicefarm.api.Archive relocate(String vmId, HostConnection target,
                                                        org.servicefarm.api.driver.VmSpec spec)
                    throws HypervisorException {
                expect(vmId, VmState.ARCHIVED);
                Map<String, VmState> there = guestsByHost.get(target.host().name());
                if (there.putIfAbsent(vmId, VmState.ARCHIVED) != null) {
                    throw new HypervisorException(vmId + " exists on " + target.host().name());
                }
                guests.remove(vmId);
                org.servicefarm.api.ArchiveTier tier = tiers.getOrDefault(vmId, org.servicefarm.api.ArchiveTier.SAVED);
                relocations.incrementAndGet();
                return new org.servicefarm.api.Archive(tier, SAVED_BYTES, SAVED_BYTES);
            }

            @Override
            public Map<String, Endpoint> restore(String vmId) throws HypervisorException {
                expect(vmId, VmState.ARCHIVED);
                refuseWake(vmId);
                guests.put(vmId, VmState.ACTIVE);
                tiers.remove(vmId);
                restores.incrementAndGet();
                return endpoints(vmId);
            }

            @Override
            public void destroy(String vmId) {
                recorded.remove(vmId);
                tiers.remove(vmId);
                if (guests.remove(vmId) != null) {
                    destroys.incrementAndGet();
                }
            }

            @Override
            public List<GuestInfo> guests() {
                beforeListing.run();
                List<GuestInfo> list = new ArrayList<>();
                guests.forEach((id, state) -> {
                    GuestMetadata metadata = recorded.get(id);
                    list.add(metadata == null ? new GuestInfo.Unrecorded(id, state, "it carries no farm metadata")
                            : new GuestInfo.Recorded(metadata, state));
                });
                afterListing.run();
                return list;
            }

            private Map<String, Endpoint> endpoints(String vmId) {
                return recorded.get(vmId).endpoints();
            }

            @Override
            public boolean alive() {
                return !lostConnections.contains(host.name());
            }

            @Override
            public void close() {
                listeners.remove(host.name(), events);
            }

            private void expect(String vmId, VmState state) throws HypervisorException {
                VmState actual = guests.get(vmId);
                if (actual != state) {
                    throw new HypervisorException(vmId + " is " + actual + ", not " + state);
                }
            }

            private void refuseWake(String vmId) throws HypervisorException {
                if (wakeFailing.contains(vmId)) {
                    throw new HypervisorException("host " + host.name() + ": the saved state of " + vmId
                            + " cannot be read back");
                }
            }
        };
    }

    /** Changes a guest behind the manager's back and reports it, as a hypervisor event would. */
    void external(String host, String vmId, VmState state) {
        guestsByHost.get(host).put(vmId, state);
        listeners.get(host).onEvent(new VmEvent(host, vmId, state, "changed outside the farm"));
    }
}
