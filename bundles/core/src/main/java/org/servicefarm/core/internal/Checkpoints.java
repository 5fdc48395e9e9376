package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageException;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
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
 * </ul>
 */
@Component(service = Checkpoints.class, configurationPid = FarmServiceManager.PID)
public class Checkpoints {

    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);

    /** The settings of the manager's configuration this reads: a checkpoint's guest is the size of a new VM. */
    @interface Config {
        int vm_vcpus() default 1;

        long vm_memoryMiB() default 256;
    }

    @Reference
    HostRegistry hosts;
    @Reference
    GuestPorts ports;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;

    Clock clock = Clock.systemUTC();
    private volatile Config config;
    private ExecutorService worker;
    /** Offerings whose checkpoints are being made, so that one request for them makes them once. */
    private final Set<Offering> preparing = ConcurrentHashMap.newKeySet();

    @Activate
    void activate(Config config) {
        this.config = config;
        // One at a time: each is a guest booting under emulation, and they would only slow each other down.
        worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "servicefarm-checkpoints");
            t.setDaemon(true);
            return t;
        });
    }

    @Modified
    void modified(Config config) {
        this.config = config;
    }

    @Deactivate
    void deactivate() {
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
                try {
                    done.complete(checkpointEverywhere(offering));
                } catch (RuntimeException | ImageException e) {
                    LOG.warn("Checkpointing {} failed: {}", offering.key(), e.getMessage());
                    done.completeExceptionally(e);
                } finally {
                    preparing.remove(offering);
                }
            });
        } catch (RejectedExecutionException e) {
            preparing.remove(offering);
            done.completeExceptionally(e);
        }
        return done;
    }

    private List<ImageRef> checkpointEverywhere(Offering offering) throws ImageException {
        List<VmSpec.GuestService> services = ports.of(offering);
        ImageRef image = imageStore.obtain(offering, services);
        List<ImageRef> made = new ArrayList<>();
        if (image.compositionOnly()) {
            return made;
        }
        for (HostStatus status : hosts.statuses()) {
            String host = status.host().name();
            if (!status.connected() || status.drained() || imageStore.checkpoint(image.id(), host).isPresent()) {
                continue;
            }
            try {
                HostConnection connection = hosts.connection(host);
                if (!connection.restoresCheckpoints()) {
                    continue;
                }
                long started = System.nanoTime();
                StagedImage staged = connection.stage(image);
                HostCheckpoint checkpoint = connection.checkpoint(templateSpec(offering, staged, services));
                imageStore.recordCheckpoint(checkpoint).ifPresent(made::add);
                LOG.info("Checkpointed {} (image {}) on {} in {} ms: {}", offering.key(), image.id(), host,
                        (System.nanoTime() - started) / 1_000_000, checkpoint.detail());
            } catch (HypervisorException | RuntimeException e) {
                LOG.warn("Checkpointing {} on {} failed: {}", offering.key(), host, e.getMessage());
            }
        }
        return made;
    }

    /** The guest a checkpoint is made of: the size a new VM of the image gets, so that a clone is such a VM. */
    private VmSpec templateSpec(Offering offering, StagedImage staged, List<VmSpec.GuestService> services) {
        Config c = config;
        long memory = Math.max(c.vm_memoryMiB(), staged.image().minMemoryMiB());
        String name = String.format("sf-tpl-%08x", ThreadLocalRandom.current().nextInt());
        return new VmSpec(name, offering, staged, c.vm_vcpus(), memory, services, Instant.now(clock));
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
            return recorded.get();
        }
        try {
            for (HostCheckpoint checkpoint : connection.checkpoints()) {
                if (checkpoint.imageId().equals(image.id()) && store.recordCheckpoint(checkpoint).isPresent()) {
                    return store.checkpoint(image.id(), host).orElse(image);
                }
            }
        } catch (HypervisorException | RuntimeException e) {
            LOG.debug("Host {} could not list its checkpoints: {}", host, e.getMessage());
        }
        return image;
    }
}
