package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
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
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.store.Leadership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes from the hosts what they hold staged and the farm can do without, so that their disks do not fill with it.
 * Every {@code staged.sweepSeconds} (60 s; the manager's configuration) each connected host is asked:
 * <ul>
 *   <li>what it holds beyond the store's images ({@link HostConnection#stagedBeyond}): staged for an image since
 *       evicted, or replaced when a component changed; without this, what was once staged stays there for good;</li>
 *   <li>when the place it stages in is {@code staged.spaceHighPercent} (85) or more used ({@link
 *       HostConnection#stagingSpace}), also what it holds for images the store keeps but no VM of the host runs from,
 *       one image at a time in the order of the eviction policy {@code stagedPolicy.target} names (LRU by default,
 *       {@link Eviction}; an image's last use on that host, as the table remembers its VMs there, else anywhere),
 *       until what goes brings it down to {@code staged.spaceLowPercent} (80): the image garbage
 *       collection a kubelet does at its high and low marks. It is staged again when a VM of it is next placed
 *       there.</li>
 * </ul>
 * What a host listed at two sweeps in a row, with the same store in force both times, is unstaged ({@link
 * HostConnection#unstage}). Two, because while the image bundle is being replaced the store in force may list
 * nothing, or hold compositions only, for a moment (a store listing no image with artifacts is never taken to mean
 * that nothing is needed), and because content just staged for a VM being created, moved or checkpointed is used by
 * the guest it is staged for by the next sweep. A host keeps what a guest still uses and is asked again at the next
 * sweep; images a VM of the host's rows runs from, any VM on the move, or a checkpoint of the host are never offered
 * for room. Among appliances sharing the farm's store, the one leading the periodic work sweeps.
 * <p>
 * Each reading of a host's staging space becomes its status ({@link HostRegistry#stagingSpaceRead}), which
 * placement's {@link SpaceFilter} reads: every appliance reads it at every sweep, leading or not, again once the
 * sweep unstaged there, and at once when a staging on the host failed ({@link #recheck}).
 */
@Component(service = StagedSweep.class, configurationPid = FarmServiceManager.PID, immediate = true)
public class StagedSweep {

    private static final Logger LOG = LoggerFactory.getLogger(StagedSweep.class);

    /** The settings of the manager's configuration this reads. */
    @interface Config {
        long staged_sweepSeconds() default 60;

        int staged_spaceHighPercent() default 85;

        int staged_spaceLowPercent() default 80;
    }

    /**
     * The settings in force: how often, and the used share of a host's staging space at which it is relieved of what
     * no VM there runs from ({@code highPercent}) and down to which ({@code lowPercent}).
     */
    record Sweeping(Duration every, int highPercent, int lowPercent) {

        static Sweeping of(Config c) {
            if (c.staged_sweepSeconds() < 1 || c.staged_sweepSeconds() > 86_400) {
                throw new IllegalArgumentException("staged.sweepSeconds must be 1 to 86400 (a day): "
                        + c.staged_sweepSeconds());
            }
            if (c.staged_spaceHighPercent() < 1 || c.staged_spaceHighPercent() > 100) {
                throw new IllegalArgumentException("staged.spaceHighPercent must be 1 to 100: "
                        + c.staged_spaceHighPercent());
            }
            if (c.staged_spaceLowPercent() < 0 || c.staged_spaceLowPercent() >= c.staged_spaceHighPercent()) {
                throw new IllegalArgumentException("staged.spaceLowPercent must be 0 to staged.spaceHighPercent - 1 ("
                        + (c.staged_spaceHighPercent() - 1) + "): " + c.staged_spaceLowPercent());
            }
            return new Sweeping(Duration.ofSeconds(c.staged_sweepSeconds()), c.staged_spaceHighPercent(),
                    c.staged_spaceLowPercent());
        }
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
    /** What VMs run from: their images are not offered for room on their host. */
    @Reference
    StateTable table;
    /** Orders the images whose content may go for room. */
    @Reference
    Eviction eviction;
    Clock clock = Clock.systemUTC();

    private final ConfiguredSettings<Config, Sweeping> settings = new ConfiguredSettings<>(FarmServiceManager.PID,
            Config.class, Sweeping::of);
    private ScheduledExecutorService worker;
    private ScheduledFuture<?> sweeps;
    /** The store in force at the last sweep, and what the hosts listed then ("host/id"): the sweep's own state. */
    private ImageStore lastStore;
    private Set<String> listedBefore = Set.of();
    /** What a host kept at the last sweep because a guest uses it: said once at INFO, not every sweep. */
    private Set<String> keptBefore = Set.of();
    /** The hosts whose staging space the last sweep could not bring down to the low mark: warned once. */
    private Set<String> fullBefore = Set.of();

    @Activate
    void activate(Config config, ComponentContext context) {
        worker = Daemons.scheduler("servicefarm-staged-sweep");
        schedule(settings.accept(context, config));
        hosts.onStagingFailure(this::recheck);
    }

    @Modified
    void modified(Config config, ComponentContext context) {
        Sweeping before = settings.inForce();
        Sweeping now = settings.accept(context, config);
        if (!now.equals(before)) {
            schedule(now);
        }
    }

    /** Not under the sweep's lock: a configuration change does not wait for a sweep of slow hosts to end. */
    private void schedule(Sweeping s) {
        long every = s.every().toMillis();
        synchronized (worker) {
            if (sweeps != null) {
                sweeps.cancel(false);
            }
            sweeps = worker.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
        }
        LOG.info("Staged content no image of the store needs is swept from the hosts every {} s, and what no VM of a "
                + "host runs from when its staging space is {}% used or more, down to {}%", s.every().toSeconds(),
                s.highPercent(), s.lowPercent());
    }

    @Deactivate
    void deactivate() {
        hosts.onStagingFailure(null);
        settings.close();
        worker.shutdownNow();
    }

    /**
     * Reads the host's staging space again soon, on the sweep's thread: a staging on it just failed (the host
     * registry tells), and if its disk is what ran out, placement should know before the next sweep. Nothing is
     * unstaged for it.
     */
    void recheck(String host) {
        try {
            worker.execute(() -> readSpace(host));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("Host {}'s staging space not read again: the sweep is stopping", host);
        }
    }

    /** Reads the host's staging space now, if it is connected and its driver says it. */
    private void readSpace(String host) {
        try {
            hosts.connection(host).stagingSpace().ifPresent(space -> spaceRead(host, space));
        } catch (HypervisorException | RuntimeException e) {
            LOG.debug("Host {}'s staging space could not be read: {}", host, e.getMessage());
        }
    }

    /** A reading, for the host's status (placement's space filter) and for the listeners (metrics). */
    private void spaceRead(String host, StagingSpace space) {
        hosts.stagingSpaceRead(host, space);
        events.stagingSpaceRead(host, space);
    }

    /** The hosts the last sweep could not bring down to the low mark: nothing more the farm staged there can go. */
    synchronized Set<String> hostsShortOfSpace() {
        return fullBefore;
    }

    /**
     * One sweep: unstages what each connected host listed beyond the store's images, or for room, now and at the
     * sweep before.
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
                fullBefore = Set.of();
                // placement here still needs to know which hosts are full, whoever decides what goes
                hosts.statuses().stream().filter(HostStatus::connected).forEach(s -> readSpace(s.host().name()));
                return 0;
            }
            Round round = new Round(store, needed, store == lastStore, settings.inForce());
            lastStore = store;
            for (HostStatus status : hosts.statuses()) {
                if (status.connected()) {
                    reclaimed += round.sweep(status.host().name());
                }
            }
            listedBefore = Set.copyOf(round.listed);
            keptBefore = Set.copyOf(round.kept);
            fullBefore = Set.copyOf(round.full);
        } catch (RuntimeException e) {
            LOG.warn("Sweeping staged content failed: {}", e.getMessage());
        }
        return reclaimed;
    }

    /** One sweep over the hosts: what it found, and what it reads once for all hosts. */
    private final class Round {

        final ImageStore store;
        final List<ImageRef> needed;
        final boolean sameStore;
        final Sweeping sweeping;
        final Set<String> listed = new HashSet<>();
        final Set<String> kept = new HashSet<>();
        final Set<String> full = new HashSet<>();
        /** Read from the table and the store only when a host is short of space, once for all such hosts. */
        private Uses uses;
        private List<ImageStatus> images;

        Round(ImageStore store, List<ImageRef> needed, boolean sameStore, Sweeping sweeping) {
            this.store = store;
            this.needed = needed;
            this.sameStore = sameStore;
            this.sweeping = sweeping;
        }

        long sweep(String host) {
            try {
                HostPass pass = new HostPass(host, hosts.connection(host));
                for (StagedContent content : pass.connection.stagedBeyond(needed)) {
                    pass.offer(content, "no image of the store uses it");
                }
                long beforeRelief = pass.reclaimed;
                relieve(pass);
                if (pass.reclaimed > beforeRelief) {
                    readSpace(host); // what placement reads, after what went
                }
                return pass.reclaimed;
            } catch (HypervisorException | RuntimeException e) {
                LOG.debug("Host {} could not list its staged content: {}", host, e.getMessage());
                return 0;
            }
        }

        /**
         * When the host's staging space is at the high mark or above, offers what it holds for the images the
         * policy ranks first among those no VM of the host runs from, one image after another (its largest content
         * first), until what is offered would bring it down to the low mark.
         */
        private void relieve(HostPass pass) throws HypervisorException {
            Optional<StagingSpace> read = pass.connection.stagingSpace();
            read.ifPresent(space -> spaceRead(pass.host, space));
            if (read.isEmpty() || read.get().usedPercent() < sweeping.highPercent()) {
                return;
            }
            StagingSpace space = read.get();
            long excess = space.usedBytes() - space.capacityBytes() / 100 * sweeping.lowPercent();
            String why = String.format(Locale.ROOT, "its staging space is %.0f%% used (staged.spaceHighPercent %d), "
                    + "no VM there runs from the image", space.usedPercent(), sweeping.highPercent());
            if (uses == null) {
                uses = new Uses(table.vms());
                images = store.statuses();
            }
            Set<String> keep = uses.keptOn(pass.host);
            Map<String, Instant> usedHere = uses.lastUseOn(pass.host);
            List<EvictionCandidate> candidates = new ArrayList<>();
            for (ImageStatus image : images) {
                if (image.state() == ImageStatus.State.READY && image.image() != null
                        && !image.image().compositionOnly() && !keep.contains(image.id())
                        && store.checkpoint(image.id(), pass.host).isEmpty()) {
                    // its last use on this host, as the table remembers its VMs there; else its last use anywhere
                    candidates.add(new EvictionCandidate(image.id(), image.createdAt(),
                            usedHere.getOrDefault(image.id(), image.lastUsedAt()), image.uses(), image.sizeBytes(),
                            null));
                }
            }
            // what was read already reflects what went just now; what was only listed goes at the next sweep
            long coming = pass.listedBytes;
            List<ImageRef> remaining = new ArrayList<>(needed);
            for (EvictionCandidate first : eviction.rankStaged(candidates, clock.instant())) {
                if (coming >= excess) {
                    break;
                }
                remaining.removeIf(image -> image.id().equals(first.id()));
                // the image's largest content first, and no more of it than the low mark needs: less to stage again
                List<StagedContent> its = new ArrayList<>(pass.connection.stagedBeyond(remaining));
                its.sort(Comparator.comparingLong(StagedContent::bytes).reversed());
                for (StagedContent content : its) {
                    if (coming >= excess) {
                        break;
                    }
                    coming += pass.offer(content, why);
                }
            }
            if (coming < excess) {
                full.add(pass.host);
                if (!fullBefore.contains(pass.host)) {
                    LOG.warn("Host {}'s staging space is {}% used ({} of {} bytes available): what the farm staged "
                            + "there and can do without does not bring it down to staged.spaceLowPercent {}{}",
                            pass.host, Math.round(space.usedPercent()), space.availableBytes(), space.capacityBytes(),
                            sweeping.lowPercent(), eviction.hasStagedPolicy() ? ""
                                    : " (no eviction policy for staged content is in force: stagedPolicy.target in "
                                    + Eviction.PID + ")");
                }
            }
        }

        /** One host's part of the sweep. */
        private final class HostPass {

            final String host;
            final HostConnection connection;
            /** The content already offered: an image's content may be another's too, or staged beyond them all. */
            private final Set<String> seen = new HashSet<>();
            /** Bytes listed, to go at the next sweep. */
            long listedBytes;
            /** Bytes unstaged now. */
            long reclaimed;

            HostPass(String host, HostConnection connection) {
                this.host = host;
                this.connection = connection;
            }

            /**
             * Lists the content to go at the next sweep, or unstages it when it was listed at the one before.
             *
             * @return its bytes, listed or unstaged; 0 for content offered already in this pass, or kept
             */
            long offer(StagedContent content, String why) {
                if (!seen.add(content.id())) {
                    return 0;
                }
                String key = host + "/" + content.id();
                long bytes = Math.max(0, content.bytes());
                if (!sameStore || !listedBefore.contains(key)) {
                    listed.add(key);
                    listedBytes += bytes;
                    return bytes;
                }
                try {
                    connection.unstage(content.id());
                    events.unstaged(host, content.label(), content.bytes());
                    reclaimed += bytes;
                    LOG.info("Unstaged {} from host {} ({}): {}", content.label(), host,
                            content.bytes() < 0 ? "size unknown" : content.bytes() + " bytes", why);
                    return bytes;
                } catch (HypervisorException | RuntimeException e) {
                    listed.add(key); // asked again at the next sweep
                    kept.add(key);
                    if (!keptBefore.contains(key)) {
                        LOG.info("Host {} keeps {} for now: {}", host, content.label(),
                                HostRegistry.safe(e.getMessage()));
                    }
                    return 0;
                }
            }
        }
    }

    /** What the table says of the images' use by host: which ones VMs run from, and when each was last used there. */
    static final class Uses {

        /** By host, the images its VMs run from; under "", those of VMs on the move. */
        private final Map<String, Set<String>> running = new HashMap<>();
        /** By host and image, the latest use of a VM of the image there (the table's history included). */
        private final Map<String, Map<String, Instant>> lastUse = new HashMap<>();

        Uses(List<VmRecord> vms) {
            for (VmRecord vm : vms) {
                if (vm.state().transitional()) {
                    running.computeIfAbsent("", h -> new HashSet<>()).add(vm.imageId());
                }
                if (vm.state() != VmState.DESTROYED && vm.state() != VmState.FAILED) {
                    running.computeIfAbsent(vm.hostId(), h -> new HashSet<>()).add(vm.imageId());
                }
                Instant used = vm.lastUsedAt() != null ? vm.lastUsedAt() : vm.createdAt();
                if (used != null) {
                    lastUse.computeIfAbsent(vm.hostId(), h -> new HashMap<>()).merge(vm.imageId(), used,
                            (a, b) -> a.isAfter(b) ? a : b);
                }
            }
        }

        /** The images the host's VMs run from, and those of every VM on the move (its target may be this host). */
        Set<String> keptOn(String host) {
            Set<String> keep = new HashSet<>(running.getOrDefault("", Set.of()));
            keep.addAll(running.getOrDefault(host, Set.of()));
            return keep;
        }

        /** When each image was last used on the host, for those the table remembers a VM of there. */
        Map<String, Instant> lastUseOn(String host) {
            return lastUse.getOrDefault(host, Map.of());
        }
    }
}
