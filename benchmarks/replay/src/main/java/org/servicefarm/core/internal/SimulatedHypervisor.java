package org.servicefarm.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.GuestMetadata;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEventListener;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;

/**
 * The replay's hypervisor: guests in memory whose services come up a configured time after they were started,
 * resumed or restored, on the replay's virtual clock. It keeps each guest's state as a hypervisor would and refuses
 * what one would refuse (starting a guest that runs, resuming one that is not paused, restoring one that is not
 * saved). Readiness ({@link #readiness()}) completes when the guest's service would first answer.
 */
final class SimulatedHypervisor implements HypervisorDriver {

    /**
     * How long each way of bringing a VM into service takes until its service answers.
     *
     * @param create    a cold creation (boot)
     * @param resume    a resume from memory
     * @param restore   a restore of a SAVED archive; COMPRESSED and DELTA add their decompression
     * @param compressedExtra what expanding a COMPRESSED archive adds
     * @param deltaExtra      what expanding a DELTA archive adds
     * @param checkpointStart a creation on a host holding a checkpoint of the image: the new VM starts from it
     */
    record Timings(Duration create, Duration resume, Duration restore, Duration compressedExtra, Duration deltaExtra,
                   Duration checkpointStart) {
        /**
         * From benchmarks/RESULTS.md and shared/STACK.md: cold creation through the request path 4.6-5.1 s (5 s);
         * suspend/resume 13-78 ms (50 ms); libvirt restore of a saved state 0.43 s; zstd expansion of a 73 MB state
         * 0.08 s; a delta's expansion is not measured (assumed 0.2 s: matching blocks plus zstd); a creation from the
         * host's checkpoint through the request path 0.232 s (median, "Checkpoints: every start path").
         */
        static final Timings MEASURED = new Timings(Duration.ofMillis(5000), Duration.ofMillis(50),
                Duration.ofMillis(430), Duration.ofMillis(80), Duration.ofMillis(200), Duration.ofMillis(232));

        Duration restore(ArchiveTier tier) {
            return switch (tier) {
                case SAVED -> restore;
                case COMPRESSED -> restore.plus(compressedExtra);
                case DELTA -> restore.plus(deltaExtra);
            };
        }
    }

    private static final long SAVED_BYTES = 256L << 20;

    /**
     * What resting cost on the hosts' disks: archives written (each tier's file is written anew) and their bytes,
     * checkpoints made, and VMs started from one.
     */
    record DiskWork(long archivesWritten, long archiveBytesWritten, long checkpointsMade, long checkpointBytesWritten,
                    long checkpointStarts) {

        static final DiskWork NONE = new DiskWork(0, 0, 0, 0, 0);

        /** The work done since {@code earlier} was taken. */
        DiskWork since(DiskWork earlier) {
            return new DiskWork(archivesWritten - earlier.archivesWritten,
                    archiveBytesWritten - earlier.archiveBytesWritten, checkpointsMade - earlier.checkpointsMade,
                    checkpointBytesWritten - earlier.checkpointBytesWritten,
                    checkpointStarts - earlier.checkpointStarts);
        }
    }

    private final VirtualTime time;
    private final Timings timings;
    private final boolean checkpoints;
    /** When each endpoint's service first answers, in virtual milliseconds. */
    private final Map<Endpoint, Long> readyAt = new ConcurrentHashMap<>();
    private int nextPort = 1;
    private long archivesWritten;
    private long archiveBytesWritten;
    private long checkpointsMade;
    private long checkpointStarts;

    /**
     * @param checkpoints whether its hosts make checkpoints and start new VMs from them, as the qemu driver's do
     *                    (libvirt's do not)
     */
    SimulatedHypervisor(VirtualTime time, Timings timings, boolean checkpoints) {
        this.time = time;
        this.timings = timings;
        this.checkpoints = checkpoints;
    }

    /** A stand-in for a file's digest: the SHA-256 of a text naming it. */
    static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    synchronized DiskWork diskWork() {
        return new DiskWork(archivesWritten, archiveBytesWritten, checkpointsMade, checkpointsMade * SAVED_BYTES,
                checkpointStarts);
    }

    @Override
    public void validate(HostRecord host) {
        if (!host.uri().startsWith("sim:")) {
            throw new org.servicefarm.api.InvalidRequestException("uri", "a simulated host's uri is sim:<name>");
        }
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) {
        validate(host);
        return new Connection(host);
    }

    /** Tells when a guest's services answer: at the virtual instant its start, resume or restore finishes. */
    Readiness readiness() {
        return new Readiness() {
            @Override
            public CompletableFuture<Void> await(Map<String, Endpoint> endpoints, EndpointProbe.Timing timing) {
                CompletableFuture<Void> all = new CompletableFuture<>();
                long at = 0;
                for (Endpoint endpoint : endpoints.values()) {
                    Long ready = readyAt.get(endpoint);
                    if (ready == null) {
                        all.completeExceptionally(new IllegalStateException("no guest answers on " + endpoint));
                        return all;
                    }
                    at = Math.max(at, ready);
                }
                if (at <= time.millis()) {
                    all.complete(null); // it answers already: at once, as a real probe of a running guest would
                } else {
                    time.at(at, () -> all.complete(null));
                }
                return all;
            }

            /** The simulated driver's calls take no virtual time: the modelled wake stands for the call, probed or not. */
            @Override
            public CompletableFuture<Void> awaitWoken(Map<String, Endpoint> endpoints, boolean answeredWhenStopped,
                                                      EndpointProbe.Timing timing) {
                return await(endpoints, timing);
            }

            @Override
            public void close() {
            }
        };
    }

    private final class Guest {
        final GuestMetadata metadata;
        final Endpoint endpoint;
        VmState state = VmState.DESTROYED; // defined, not running
        ArchiveTier tier;
        /** Defined from a checkpoint of its image: its first start restores that instead of booting. */
        boolean fromCheckpoint;

        Guest(GuestMetadata metadata, Endpoint endpoint) {
            this.metadata = metadata;
            this.endpoint = endpoint;
        }

        Map<String, Endpoint> up(Duration takes) {
            state = VmState.ACTIVE;
            tier = null;
            readyAt.put(endpoint, time.millis() + takes.toMillis());
            return Map.of(metadata.offering().service(), endpoint);
        }
    }

    private final class Connection implements HostConnection {
        private final HostRecord host;
        private final Map<String, Guest> guests = new HashMap<>();
        /** The checkpoints this host holds, by the id of the image each was booted from. */
        private final Map<String, HostCheckpoint> held = new HashMap<>();

        Connection(HostRecord host) {
            this.host = host;
        }

        @Override
        public HostRecord host() {
            return host;
        }

        @Override
        public boolean needsArtifacts() {
            return false; // compositions run, as on libvirt's test driver
        }

        @Override
        public StagedImage stage(ImageRef image) {
            return new StagedImage(image, Map.of());
        }

        @Override
        public synchronized void define(VmSpec spec) throws HypervisorException {
            if (guests.containsKey(spec.vmId())) {
                throw new HypervisorException("guest " + spec.vmId() + " exists");
            }
            Endpoint endpoint = new Endpoint("10.77." + (nextPort >> 16 & 0xff) + "." + (nextPort >> 8 & 0xff),
                    1024 + (nextPort++ & 0xff));
            GuestMetadata metadata = new GuestMetadata(spec.vmId(), spec.offering(), spec.image().image().id(),
                    new Capacity(spec.vcpus(), spec.memoryMiB(), 1),
                    Map.of(spec.offering().service(), endpoint), spec.createdAt());
            Guest guest = new Guest(metadata, endpoint);
            guest.fromCheckpoint = spec.image().image().kind() == ImageRef.Kind.CHECKPOINT;
            guests.put(spec.vmId(), guest);
        }

        @Override
        public boolean restoresCheckpoints() {
            return checkpoints;
        }

        /**
         * Makes a checkpoint of the template's image at once: in the appliance a host boots the image until it
         * answers (5-8 s under TCG) in the background first; here it takes no virtual time.
         */
        @Override
        public synchronized HostCheckpoint checkpoint(VmSpec template) throws HypervisorException {
            if (!checkpoints) {
                throw new HypervisorException("host " + host.name() + " makes no checkpoints");
            }
            String imageId = template.image().image().id();
            HostCheckpoint existing = held.get(imageId);
            if (existing != null) {
                return existing;
            }
            String id = "cp-" + Integer.toHexString(imageId.hashCode() & 0x7fffffff);
            String sha256 = sha256(host.name() + "/" + imageId);
            HostCheckpoint made = new HostCheckpoint(id, host.name(), imageId,
                    java.nio.file.Path.of("/sim", host.name(), id + ".json"), sha256, SAVED_BYTES, time.instant(),
                    "simulated");
            held.put(imageId, made);
            synchronized (SimulatedHypervisor.this) {
                checkpointsMade++;
            }
            return made;
        }

        @Override
        public synchronized List<HostCheckpoint> checkpoints() {
            return List.copyOf(held.values());
        }

        @Override
        public synchronized void deleteCheckpoint(String id) throws HypervisorException {
            if (!held.values().removeIf(checkpoint -> checkpoint.id().equals(id))) {
                throw new HypervisorException("host " + host.name() + " holds no checkpoint " + id);
            }
        }

        private Guest guest(String vmId, VmState expected, String what) throws HypervisorException {
            Guest guest = guests.get(vmId);
            if (guest == null || guest.state != expected) {
                throw new HypervisorException("cannot " + what + " " + vmId + ": it is "
                        + (guest == null ? "unknown" : guest.state));
            }
            return guest;
        }

        @Override
        public synchronized Map<String, Endpoint> start(String vmId) throws HypervisorException {
            Guest guest = guest(vmId, VmState.DESTROYED, "start");
            if (guest.fromCheckpoint) {
                guest.fromCheckpoint = false; // a later start (after a stop) boots
                synchronized (SimulatedHypervisor.this) {
                    checkpointStarts++;
                }
                return guest.up(timings.checkpointStart());
            }
            return guest.up(timings.create());
        }

        @Override
        public synchronized void suspend(String vmId) throws HypervisorException {
            guest(vmId, VmState.ACTIVE, "suspend").state = VmState.SLEEPING;
        }

        @Override
        public synchronized Map<String, Endpoint> resume(String vmId) throws HypervisorException {
            return guest(vmId, VmState.SLEEPING, "resume").up(timings.resume());
        }

        @Override
        public synchronized void save(String vmId) throws HypervisorException {
            archive(vmId, ArchiveTier.SAVED, 3);
        }

        @Override
        public java.util.Set<ArchiveTier> archiveTiers() {
            return java.util.EnumSet.allOf(ArchiveTier.class);
        }

        @Override
        public synchronized Archive archive(String vmId, ArchiveTier tier, int compressionLevel)
                throws HypervisorException {
            Guest guest = guests.get(vmId);
            if (guest == null || guest.state == VmState.DESTROYED) {
                throw new HypervisorException("cannot archive " + vmId + ": it does not run");
            }
            guest.state = VmState.ARCHIVED;
            guest.tier = tier;
            readyAt.remove(guest.endpoint);
            // the sizes the driver measured on a 256 MiB guest: zstd about 3x, a delta against the base smaller still
            long bytes = switch (tier) {
                case SAVED -> SAVED_BYTES;
                case COMPRESSED -> SAVED_BYTES / 3;
                case DELTA -> SAVED_BYTES / 8;
            };
            synchronized (SimulatedHypervisor.this) {
                archivesWritten++;
                archiveBytesWritten += bytes;
            }
            return new Archive(tier, bytes, SAVED_BYTES);
        }

        @Override
        public synchronized Map<String, Endpoint> restore(String vmId) throws HypervisorException {
            Guest guest = guest(vmId, VmState.ARCHIVED, "restore");
            return guest.up(timings.restore(guest.tier));
        }

        @Override
        public synchronized void destroy(String vmId) {
            Guest gone = guests.remove(vmId);
            if (gone != null) {
                readyAt.remove(gone.endpoint);
            }
        }

        @Override
        public synchronized List<GuestInfo> guests() {
            List<GuestInfo> list = new ArrayList<>();
            guests.values().forEach(g -> list.add(new GuestInfo.Recorded(g.metadata, g.state)));
            return list;
        }

        @Override
        public void close() {
        }
    }
}
