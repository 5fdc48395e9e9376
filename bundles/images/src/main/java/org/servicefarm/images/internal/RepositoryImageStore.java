package org.servicefarm.images.internal;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.framework.Constants;
import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Names;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.ImageException;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.store.ImageCatalog;

/**
 * The image store over a component repository: a thin DS component over {@link RepositoryDirectory}
 * (the repository, re-read when its index changes), {@link Resolver} (an offering's components, or the
 * reason there are none), {@link ImageBuilder} (one image directory) and {@link ImageCache} (one build per
 * image, images on disk, the budget). Ranked above the core's composition-only store (-100), so it is the
 * store in force once installed; without a repository its images are compositions only, which is what the
 * libvirt test driver runs.
 */
@Component(service = ImageStore.class, configurationPid = RepositoryImageStore.PID,
        property = Constants.SERVICE_RANKING + ":Integer=0")
@Designate(ocd = RepositoryImageStore.Config.class)
public class RepositoryImageStore implements ImageStore {

    static final String PID = "org.servicefarm.images";
    /** Replaced by the appliance's data directory in directory settings. */
    static final String KARAF_DATA = "${karaf.data}";

    @ObjectClassDefinition(name = "ServiceFarm images",
            description = "Where the component repository and the image cache are, and how much the cache may hold.")
    public @interface Config {
        @AttributeDefinition(description = "The component repository: a directory holding index.json and "
                + "blobs/sha256/, as components/build writes it. Empty for none: every image is then a composition "
                + "only, which the libvirt test driver runs and a QEMU host refuses with the reason. It is read "
                + "again whenever its index.json changes.", required = false)
        String repository() default KARAF_DATA + "/servicefarm/components";

        @AttributeDefinition(name = "image directory", description = "Where built images go, one sub-directory "
                + "per image named by its id. On the repository's file system, kernels and disks are hard links "
                + "to the repository's blobs. QEMU must be able to read it (e.g. /var/lib/servicefarm/images, every "
                + "parent directory traversable).")
        String imageDirectory() default KARAF_DATA + "/servicefarm/images";

        @AttributeDefinition(name = "budget (MiB)", description = "The most the images may take together, in MiB. "
                + "A file hard-linked to a repository blob takes nothing. When a build would exceed it, the image "
                + "eviction policy in force chooses images to delete; images in use by a VM or being built are never "
                + "deleted, and if nothing can go the build fails saying why.")
        long budgetMiB() default 4096;

        @AttributeDefinition(name = "hard links", description = "Whether kernels and disks are hard-linked to the "
                + "repository's blobs (copied when the file systems differ); off: always copied.")
        boolean hardLinks() default true;

        @AttributeDefinition(name = "build threads", description = "How many images are built at once.")
        int buildThreads() default 2;

        @AttributeDefinition(description = "The host name written into every guest (/etc/hostname).")
        String hostname() default "guest";

        @AttributeDefinition(name = "eviction grace (s)", description = "How long an image handed out for a new "
                + "VM is kept from eviction although no VM in the state table runs from it yet (the VM is being "
                + "placed and defined).")
        long evictionGraceSeconds() default 300;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile StateTableView stateTable;

    @Reference
    ImageEviction eviction;

    /** Where the catalog of images and their use is kept across restarts; the store's, when it is there. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageCatalog catalog;

    Clock clock = Clock.systemUTC();
    private volatile RepositoryDirectory repository;
    private ImageCache cache;
    private CatalogSync catalogSync;
    private ExecutorService builders;

    /** Where the repository is and how the cache is kept, checked together. */
    private record Configured(Path repository, ImageCache.Settings cache) {
    }

    private final ConfiguredSettings<Config, Configured> configuration = new ConfiguredSettings<>(PID, Config.class,
            config -> new Configured(directory(config.repository()), settings(config)));

    @Activate
    void activate(Config config, ComponentContext context) {
        Configured configured = configuration.accept(context, config);
        AtomicInteger threads = new AtomicInteger();
        builders = Executors.newFixedThreadPool(Math.max(1, config.buildThreads()), r -> {
            Thread t = new Thread(r, "servicefarm-image-build-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        repository = new RepositoryDirectory(configured.repository());
        cache = new ImageCache(configured.cache(), clock, builders, this::inUse, eviction);
        cache.scan();
        catalogSync = new CatalogSync(cache, () -> catalog);
        catalogSync.start();
    }

    @Modified
    void modified(Config config, ComponentContext context) {
        Configured before = configuration.inForce();
        Configured configured = configuration.accept(context, config);
        if (configured == before) {
            return; // refused: nothing changes
        }
        // the build pool keeps its size until the next activation
        repository = new RepositoryDirectory(configured.repository());
        cache.reconfigure(configured.cache());
    }

    @Deactivate
    void deactivate() {
        configuration.close();
        catalogSync.close();
        builders.shutdownNow();
        cache.close();
    }

    static ImageCache.Settings settings(Config config) {
        if (config.budgetMiB() < 0 || config.evictionGraceSeconds() < 0) {
            throw new IllegalArgumentException("budgetMiB and evictionGraceSeconds must not be negative");
        }
        Path images = directory(config.imageDirectory());
        if (images == null) {
            throw new IllegalArgumentException("imageDirectory is required");
        }
        return new ImageCache.Settings(images, config.budgetMiB() << 20, config.hardLinks(),
                Names.required("hostname", config.hostname()), Duration.ofSeconds(config.evictionGraceSeconds()));
    }

    /** A configured directory, ${karaf.data} replaced; null when empty. */
    static Path directory(String configured) {
        if (configured == null || configured.isBlank()) {
            return null;
        }
        String data = System.getProperty("karaf.data", "data");
        return Path.of(configured.trim().replace(KARAF_DATA, data)).toAbsolutePath().normalize();
    }

    /** Live VMs per image id, from the state table (none without one). */
    Map<String, Integer> inUse() {
        StateTableView table = stateTable;
        Map<String, Integer> counts = new HashMap<>();
        if (table != null) {
            for (VmRecord vm : table.vms()) {
                if (vm.imageId() != null && vm.state().occupiesHost()) {
                    counts.merge(vm.imageId(), 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    private ImageCache.Plan plan(Offering offering, List<VmSpec.GuestService> services) {
        Objects.requireNonNull(offering, "offering");
        if (services == null || services.isEmpty()) {
            throw new IllegalArgumentException("an image needs at least one guest service");
        }
        for (VmSpec.GuestService service : services) {
            Names.required("services.name", service.name());
            if (service.guestPort() < 1 || service.guestPort() > 65535) {
                throw new IllegalArgumentException("guest port " + service.guestPort() + " of " + service.name()
                        + " is not a TCP port");
            }
        }
        return cache.plan(repository.current(), offering, List.copyOf(services));
    }

    /** The services of a VM made for {@link #obtain(Offering)}: the offering's own, on port 80. */
    private static List<VmSpec.GuestService> defaultServices(Offering offering) {
        return List.of(new VmSpec.GuestService(offering.service(), 80));
    }

    @Override
    public Optional<ImageRef> find(Offering offering) {
        return cache.find(offering);
    }

    @Override
    public ImageRef obtain(Offering offering) throws ImageException {
        return obtain(offering, defaultServices(offering));
    }

    @Override
    public ImageRef obtain(Offering offering, List<VmSpec.GuestService> services) throws ImageException {
        return cache.obtain(plan(offering, services), offering, services);
    }

    @Override
    public Optional<String> compositionOnlyBecause(Offering offering, List<VmSpec.GuestService> services) {
        return plan(offering, services) instanceof ImageCache.CompositionOnly only ? Optional.of(only.reason())
                : Optional.empty();
    }

    @Override
    public ImageStatus build(Offering offering, List<VmSpec.GuestService> services) {
        return cache.build(plan(offering, services), offering, services);
    }

    @Override
    public List<ImageRef> images() {
        return cache.images();
    }

    @Override
    public List<ImageStatus> statuses() {
        return cache.statuses();
    }

    @Override
    public Optional<ImageStatus> status(String id) {
        return cache.status(id);
    }

    @Override
    public Optional<ImageRef> checkpoint(String imageId, String host) {
        return cache.checkpoint(imageId, host);
    }

    @Override
    public Optional<ImageRef> recordCheckpoint(HostCheckpoint checkpoint) {
        return cache.recordCheckpoint(checkpoint);
    }

    @Override
    public void forgetCheckpoint(String imageId, String host) {
        cache.forgetCheckpoint(imageId, host);
    }

    @Override
    public List<ComponentInfo> components() {
        RepositoryDirectory.State state = repository.current();
        return state.repository() == null ? List.of()
                : state.repository().components().stream().map(RepositoryComponent::info).toList();
    }
}
