package org.servicefarm.core.internal;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.store.Leadership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes from the hosts what they hold staged for images the image store no longer keeps (evicted, or replaced when
 * a component changed): a host's disk is the farm's too, and without this what was once staged stays there for good.
 * Every {@code staged.sweepSeconds} (60 s; the manager's configuration) each connected host lists what it holds
 * beyond the store's images ({@link HostConnection#stagedBeyond}); what a host listed at two sweeps in a row, with the same store in force both
 * times, is unstaged ({@link HostConnection#unstage}). Two, because while the image bundle is being replaced the
 * store in force may list nothing, or hold compositions only, for a moment; a store listing no image with artifacts
 * is never taken to mean that nothing is needed. A host keeps what a guest still uses and is asked again at the next
 * sweep: the store evicts no image a VM of the farm lives on, so that is a guest of another farm sharing the host, or
 * one the table lost. Among appliances sharing the farm's store, the one leading the periodic work sweeps.
 */
@Component(service = StagedSweep.class, configurationPid = FarmServiceManager.PID, immediate = true)
public class StagedSweep {

    private static final Logger LOG = LoggerFactory.getLogger(StagedSweep.class);

    /** The setting of the manager's configuration this reads. */
    @interface Config {
        long staged_sweepSeconds() default 60;
    }

    @Reference
    HostRegistry hosts;
    /** Told of each deletion (the metrics count its bytes). */
    @Reference
    FarmEvents events;
    /** Absent without a shared store: this appliance sweeps. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile Leadership leadership;
    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;

    private final ConfiguredSettings<Config, Duration> period = new ConfiguredSettings<>(FarmServiceManager.PID,
            Config.class, c -> {
                if (c.staged_sweepSeconds() < 1 || c.staged_sweepSeconds() > 86_400) {
                    throw new IllegalArgumentException("staged.sweepSeconds must be 1 to 86400 (a day): "
                            + c.staged_sweepSeconds());
                }
                return Duration.ofSeconds(c.staged_sweepSeconds());
            });
    private ScheduledExecutorService worker;
    private ScheduledFuture<?> sweeps;
    /** The store in force at the last sweep, and what the hosts listed then ("host/id"): the sweep's own state. */
    private ImageStore lastStore;
    private Set<String> listedBefore = Set.of();
    /** What a host kept at the last sweep because a guest uses it: said once at INFO, not every sweep. */
    private Set<String> keptBefore = Set.of();

    @Activate
    void activate(Config config, ComponentContext context) {
        worker = Daemons.scheduler("servicefarm-staged-sweep");
        schedule(period.accept(context, config));
    }

    @Modified
    void modified(Config config, ComponentContext context) {
        Duration before = period.inForce();
        Duration now = period.accept(context, config);
        if (!now.equals(before)) {
            schedule(now);
        }
    }

    /** Not under the sweep's lock: a configuration change does not wait for a sweep of slow hosts to end. */
    private void schedule(Duration every) {
        synchronized (worker) {
            if (sweeps != null) {
                sweeps.cancel(false);
            }
            sweeps = worker.scheduleWithFixedDelay(this::sweep, every.toMillis(), every.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        LOG.info("Staged content no image of the store needs is swept from the hosts every {} s", every.toSeconds());
    }

    @Deactivate
    void deactivate() {
        period.close();
        worker.shutdownNow();
    }

    /**
     * One sweep: unstages what each connected host listed beyond the store's images now and at the sweep before.
     *
     * @return the bytes unstaged (what the hosts said the deleted content took)
     */
    synchronized long sweep() {
        long reclaimed = 0;
        try {
            ImageStore store = imageStore;
            List<ImageRef> needed = store == null ? List.of() : store.images();
            Leadership l = leadership;
            // one appliance of those sharing the hosts decides: two would each delete what only the other's store
            // needs; not leading, or nothing to tell what a host needs, the sweeps count again from the next one
            if (l != null && !l.leads() || needed.stream().allMatch(ImageRef::compositionOnly)) {
                lastStore = null;
                listedBefore = Set.of();
                keptBefore = Set.of();
                return 0;
            }
            boolean sameStore = store == lastStore;
            lastStore = store;
            Set<String> listed = new HashSet<>();
            Set<String> kept = new HashSet<>();
            for (HostStatus status : hosts.statuses()) {
                if (status.connected()) {
                    reclaimed += sweep(status.host().name(), needed, sameStore, listed, kept);
                }
            }
            listedBefore = Set.copyOf(listed);
            keptBefore = Set.copyOf(kept);
        } catch (RuntimeException e) {
            LOG.warn("Sweeping staged content failed: {}", e.getMessage());
        }
        return reclaimed;
    }

    private long sweep(String host, List<ImageRef> needed, boolean sameStore, Set<String> listed, Set<String> kept) {
        long reclaimed = 0;
        try {
            HostConnection connection = hosts.connection(host);
            for (StagedContent content : connection.stagedBeyond(needed)) {
                String key = host + "/" + content.id();
                if (!sameStore || !listedBefore.contains(key)) {
                    listed.add(key);
                    continue;
                }
                try {
                    connection.unstage(content.id());
                    events.unstaged(host, content.label(), content.bytes());
                    reclaimed += Math.max(0, content.bytes());
                    LOG.info("Unstaged {} from host {} ({}): no image of the store uses it", content.label(), host,
                            content.bytes() < 0 ? "size unknown" : content.bytes() + " bytes");
                } catch (HypervisorException | RuntimeException e) {
                    listed.add(key); // asked again at the next sweep
                    kept.add(key);
                    if (!keptBefore.contains(key)) {
                        LOG.info("Host {} keeps {} for now: {}", host, content.label(),
                                HostRegistry.safe(e.getMessage()));
                    }
                }
            }
        } catch (HypervisorException | RuntimeException e) {
            LOG.debug("Host {} could not list its staged content: {}", host, e.getMessage());
        }
        return reclaimed;
    }
}
