package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageException;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints of images, between the hosts and the image store. A checkpoint is host-specific (the hypervisor's
 * version, machine type and CPU model are in the saved state), so the host makes it, on request, and keeps it
 * ({@link HostConnection#checkpoint}); the image store records it as an image of kind CHECKPOINT tied to the image
 * it was booted from, keyed by that image's content digest (a changed component is another image, so another
 * checkpoint), and forgets it with that image.
 * <ul>
 * <li>{@link #prepare}: for a popular offering ({@link Popularity}), in the background: its image is obtained (built
 * once, pre-built when popularity asked for it first), then every connected host that restores checkpoints boots it
 * until its service answers and saves it.</li>
 * <li>{@link #startImage}: on the creation path, what a new VM placed on a host starts from: the host's checkpoint of
 * the image when it has one (also one it made before the appliance restarted), else the image itself; a host that
 * cannot restore checkpoints (libvirt) always boots the image.</li>
 * <li>{@link #holders}: the hosts that hold a checkpoint of an image, which placement prefers.</li>
 * <li>{@link #sweep}, every {@value #SWEEP_SECONDS} s: a host's checkpoint of an image the store no longer has (evicted,
 * or replaced when a component changed) is deleted on the host.</li>
 * </ul>
 */
@Component(service = Checkpoints.class, configurationPid = FarmServiceManager.PID)
public class Checkpoints {

    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    static final long SWEEP_SECONDS = 30;

    /**
     * The settings of the manager's configuration this reads: a checkpoint's guest is the size of a new VM; how many
     * hosts hold a checkpoint of one image.
     */
    @interface Config {
        int vm_vcpus() default 1;

        long vm_memoryMiB() default 256;

        int checkpoint_hosts() default 3;
    }

    @Reference
    HostRegistry hosts;
    @Reference
    GuestPorts ports;
    /** Where the offering's next VMs would go: its checkpoints are made there. */
    @Reference
    Placement placement;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;

    Clock clock = Clock.systemUTC();
    /** Makes the one thread checkpoints are made and swept on (a trace replay gives its virtual clock's timer). */
    java.util.function.Supplier<ScheduledExecutorService> workerFactory = Checkpoints::newWorker;
    /** The manager's settings this reads, converted once (a typo is refused here as the manager refuses it). */
    private record Sizing(int vcpus, long memoryMiB, int hosts) {
    }

    private final ConfiguredSettings<Config, Sizing> sizing = new ConfiguredSettings<>(FarmServiceManager.PID,
            Config.class, c -> new Sizing(c.vm_vcpus(), c.vm_memoryMiB(), c.checkpoint_hosts()));
    private ScheduledExecutorService worker;
    /** Offerings whose checkpoints are being made, so that one request for them makes them once. */
    private final Set<Offering> preparing = ConcurrentHashMap.newKeySet();
    /** Image id -> the hosts seen holding a checkpoint of it (made, recorded or listed by a host). */
    private final Map<String, Set<String>> holders = new ConcurrentHashMap<>();
    /** Host checkpoints ("host/id") whose image the store lacked at the last sweep. */
    private final Set<String> orphans = ConcurrentHashMap.newKeySet();
    /** Whether a connected host made or restored checkpoints at the last sweep. */
    private volatile boolean anyHostMakesThem;

    @Activate
    void activate(Config config, ComponentContext context) {
        sizing.accept(context, config);
        worker = workerFactory.get();
        worker.scheduleWithFixedDelay(this::sweep, SWEEP_SECONDS, SWEEP_SECONDS, TimeUnit.SECONDS);
    }

    /** One at a time: each checkpoint is a guest booting under emulation, and they would only slow each other down. */
    private static ScheduledExecutorService newWorker() {
        return Daemons.scheduler("servicefarm-checkpoints");
    }

    @Modified
    void modified(Config config, ComponentContext context) {
        sizing.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        sizing.close();
        worker.shutdownNow();
    }

    /**
     * Makes, in the background, a checkpoint of the offering's image on every connected host that restores
     * checkpoints and has none of it yet; returns at once. Completes with the checkpoints recorded.
     */
    CompletableFuture<List<ImageRef>> prepare(Offering offering) {
        if (!preparing.add(offering)) {
            return CompletableFuture.completedFuture(List.of());
        }
        CompletableFuture<List<ImageRef>> done = new CompletableFuture<>();
        try {
            worker.execute(() -> {
                List<ImageRef> made = null;
                Exception failure = null;
                try {
                    made = checkpointWhereVmsGo(offering);
                } catch (RuntimeException | ImageException e) {
                    LOG.warn("Checkpointing {} failed: {}", offering.key(), e.getMessage());
                    failure = e;
                } finally {
                    preparing.remove(offering); // before the future completes: whoever waited may ask again at once
                }
                if (failure == null) {
                    done.complete(made);
                } else {
                    done.completeExceptionally(failure);
                }
            });
        } catch (RejectedExecutionException e) {
            preparing.remove(offering);
            done.completeExceptionally(e);
        }
        return done;
    }

    /**
     * Makes checkpoints of the offering's image on the hosts its next VMs would go to (placement's first choices among
     * those that restore checkpoints), until {@code checkpoint.hosts} hosts taking VMs hold one: a checkpoint is
     * one boot per host and its saved memory on that host's disk, so not every host of a large farm gets one, and
     * none goes to a host the offering may not run on (another security zone, say).
     */
    private List<ImageRef> checkpointWhereVmsGo(Offering offering) throws ImageException {
        List<VmSpec.GuestService> services = ports.of(offering);
        ImageRef image = imageStore.obtain(offering, services);
        List<ImageRef> made = new ArrayList<>();
        if (image.compositionOnly()) {
            return made;
        }
        Sizing c = sizing.inForce();
        // known holders (a host asked again for one it holds returns it as it is)
        Set<String> holding = holders(image.id());
        long held = hosts.statuses().stream().filter(status -> status.connected() && !status.drained()
                && holding.contains(status.name())).count();
        if (held >= c.hosts()) {
            return made;
        }
        PlacementRequest placing = new PlacementRequest(offering, null, vmSize(c, image), List.of(),
                hosts.guestsFor(image));
        List<HostStatus> chosen = placement.candidates(placing, (int) (c.hosts() - held),
                status -> !holding.contains(status.name()) && restoresCheckpoints(status),
                "makes no checkpoints, or holds one of the image");
        for (HostStatus status : chosen) {
            String host = status.host().name();
            try {
                HostConnection connection = hosts.connection(host);
                long started = System.nanoTime();
                StagedImage staged = connection.stage(image);
                HostCheckpoint checkpoint = connection.checkpoint(templateSpec(offering, staged, services));
                imageStore.recordCheckpoint(checkpoint).ifPresent(made::add);
                held(image.id(), host);
                LOG.info("Checkpointed {} (image {}) on {} in {} ms: {}", offering.key(), image.id(), host,
                        (System.nanoTime() - started) / 1_000_000, checkpoint.detail());
            } catch (HypervisorException | RuntimeException e) {
                LOG.warn("Checkpointing {} on {} failed: {}", offering.key(), host, e.getMessage());
            }
        }
        return made;
    }

    private boolean restoresCheckpoints(HostStatus status) {
        try {
            return status.connected() && hosts.connection(status.name()).restoresCheckpoints();
        } catch (HypervisorException | RuntimeException e) {
            return false;
        }
    }

    /** The guest a checkpoint is made of: the size a new VM of the image gets, so that a clone is such a VM. */
    private VmSpec templateSpec(Offering offering, StagedImage staged, List<VmSpec.GuestService> services) {
        Capacity size = vmSize(sizing.inForce(), staged.image());
        String name = String.format("sf-tpl-%08x", ThreadLocalRandom.current().nextInt());
        return new VmSpec(name, offering, staged, size.vcpus(), size.memoryMiB(), services, Instant.now(clock));
    }

    /** The size of a new VM of the image: the configured one, with at least the memory the image needs. */
    private static Capacity vmSize(Sizing c, ImageRef image) {
        return new Capacity(c.vcpus(), Math.max(c.memoryMiB(), image.minMemoryMiB()), 1);
    }

    /**
     * What a new VM of {@code image} placed on {@code host} starts from: the host's checkpoint of it when the host
     * restores checkpoints and holds one (recorded again from the host when the store lost the record), else the
     * image itself.
     */
    ImageRef startImage(ImageRef image, String host, HostConnection connection) {
        if (image.compositionOnly() || !connection.restoresCheckpoints()) {
            return image;
        }
        ImageStore store = imageStore;
        Optional<ImageRef> recorded = store.checkpoint(image.id(), host);
        if (recorded.isPresent()) {
            held(image.id(), host);
            return recorded.get();
        }
        try {
            for (HostCheckpoint checkpoint : connection.checkpoints()) {
                if (checkpoint.imageId().equals(image.id()) && store.recordCheckpoint(checkpoint).isPresent()) {
                    held(image.id(), host);
                    return store.checkpoint(image.id(), host).orElse(image);
                }
            }
        } catch (HypervisorException | RuntimeException e) {
            LOG.debug("Host {} could not list its checkpoints: {}", host, e.getMessage());
        }
        return image;
    }

    /**
     * Whether a connected host made checkpoints at the last sweep (every {@value #SWEEP_SECONDS} s): on a farm of
     * libvirt hosts none does, and asking for checkpoints there is for nothing.
     */
    boolean anyHostMakesThem() {
        return anyHostMakesThem;
    }

    /** The hosts seen holding a checkpoint of the image: a new VM of it placed there starts from the checkpoint. */
    Set<String> holders(String imageId) {
        Set<String> hosts = holders.get(imageId);
        return hosts == null ? Set.of() : Set.copyOf(hosts);
    }

    private void held(String imageId, String host) {
        holders.computeIfAbsent(imageId, k -> ConcurrentHashMap.newKeySet()).add(host);
    }

    private static boolean delete(HostConnection connection, HostCheckpoint checkpoint) {
        try {
            connection.deleteCheckpoint(checkpoint.id());
            LOG.info("Deleted checkpoint {} on {}: its image {} is no longer in the image store", checkpoint.id(),
                    checkpoint.host(), checkpoint.imageId());
            return true;
        } catch (HypervisorException | RuntimeException e) { // in use by VMs, say: the next sweep tries again
            LOG.info("Checkpoint {} on {} is kept for now: {}", checkpoint.id(), checkpoint.host(), e.getMessage());
            return false;
        }
    }

    /**
     * Learns which hosts hold checkpoints of the store's images (recording each in the store, which lists it from then
     * on), and deletes on its host a checkpoint whose image the store no longer has. Only after two sweeps in a row
     * found it so: while the image store is being replaced (a bundle update) it may list nothing for a moment. A
     * checkpoint that VMs still run from stays until they are gone.
     */
    void sweep() {
        ImageStore store = imageStore;
        if (store == null) {
            return;
        }
        try {
            Set<String> images = store.images().stream().filter(i -> i.kind() != ImageRef.Kind.CHECKPOINT)
                    .map(ImageRef::id).collect(Collectors.toSet());
            Map<String, Set<String>> seen = new HashMap<>();
            Set<String> orphaned = new HashSet<>();
            boolean makers = false;
            for (HostStatus status : hosts.statuses()) {
                String host = status.host().name();
                if (!status.connected()) {
                    continue;
                }
                try {
                    HostConnection connection = hosts.connection(host);
                    if (!connection.restoresCheckpoints()) {
                        continue;
                    }
                    makers = true;
                    for (HostCheckpoint checkpoint : connection.checkpoints()) {
                        if (images.contains(checkpoint.imageId())) {
                            seen.computeIfAbsent(checkpoint.imageId(), k -> ConcurrentHashMap.newKeySet()).add(host);
                            // after a restart the store lists it again (and takes on its kept use); else a no-op
                            store.recordCheckpoint(checkpoint);
                        } else if (!orphans.contains(host + "/" + checkpoint.id()) || !delete(connection, checkpoint)) {
                            orphaned.add(host + "/" + checkpoint.id());
                        }
                    }
                } catch (HypervisorException | RuntimeException e) {
                    LOG.debug("Sweeping the checkpoints of host {}: {}", host, e.getMessage());
                    // what this host holds is not known now: keep what was known of it
                    holders.forEach((image, on) -> {
                        if (on.contains(host)) {
                            seen.computeIfAbsent(image, k -> ConcurrentHashMap.newKeySet()).add(host);
                        }
                    });
                }
            }
            anyHostMakesThem = makers;
            orphans.clear();
            orphans.addAll(orphaned);
            holders.keySet().retainAll(seen.keySet());
            holders.putAll(seen);
        } catch (RuntimeException e) {
            LOG.warn("Sweeping checkpoints failed: {}", e.getMessage());
        }
    }
}
