package org.servicefarm.core.internal;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;

import org.servicefarm.api.Activation;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementRequest;
import org.servicefarm.core.internal.FarmServiceManager.Ready;
import org.servicefarm.core.internal.FarmServiceManager.Work;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mechanism that moves existing VMs: sleep (suspend), archive (save, in a tier), wake (resume or restore, on its
 * host or another), destroy, and relocate an archive to another host. Each is a sequence of legal moves on the state
 * table around the driver's call, and puts the VM back where it was when the driver fails. Which VM moves when is
 * decided elsewhere (the request path, the lifecycle's policy, the VM cap's eviction, the operator).
 */
final class VmOperations {

    private static final Logger LOG = LoggerFactory.getLogger(VmOperations.class);

    /** A driver refused an operation; the VM is back in the state it was in. */
    static final class OperationFailedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OperationFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * A VM could not be woken (it is back at rest, or given up): requests that wanted it are served by another VM or
     * a new one ({@link #vmId} passed over).
     */
    static final class WakeFailedException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String vmId;

        WakeFailedException(String vmId, String message, Throwable cause) {
            super(message, cause);
            this.vmId = vmId;
        }
    }

    private final StateTable table;
    private final HostRegistry hosts;
    private final HostIndex index;
    private final Placement placement;
    private final ExecutorService workers;
    private final Readiness probe;
    private final Supplier<Settings> settings;
    private final Supplier<ImageStore> images;
    private final Function<Offering, Object> offeringLocks;
    private final Map<Activation, DurationEstimate> estimates;
    private final Map<String, LoadMeter> loads;
    /**
     * SLEEPING and ARCHIVED VMs whose services answered just before they were suspended or saved, with the endpoints
     * they answered on: woken with those endpoints, their memory (listening sockets included) is as it was then, so
     * they answer without a probe. This appliance's knowledge alone: after a restart, for a VM another appliance put
     * to rest, or woken on other endpoints (relocated), a wake probes.
     */
    private final Map<String, Map<String, Endpoint>> answeredWhenStopped = new ConcurrentHashMap<>();
    private static final int STALE_ENTRIES_CHECKED_ABOVE = 1024;
    /**
     * The waits for VMs' services to answer after a boot, a resume or a restore, by VM id: a guest that fails meanwhile
     * ends its wait at once ({@link #guestFailed}).
     */
    private final Map<String, CompletableFuture<Void>> awaitingAnswer = new ConcurrentHashMap<>();
    /**
     * Wakes in a row each VM's host refused while its connection was alive, by VM id: the VM's own failures (a saved
     * state that cannot be read back), not its host's (gone meanwhile). Cleared by a wake that succeeds.
     */
    private final Map<String, Integer> wakesRefused = new ConcurrentHashMap<>();
    /** Wakes under way, by VM id: requests for the VM join them. */
    final Map<String, Work> activations = new ConcurrentHashMap<>();
    /** The compressor's level for the compressed and delta tiers. */
    volatile int compressionLevel = 3;
    /** Set once both exist: the cap evicts through these operations, and a restore reserves a slot under it. */
    volatile VmCap cap;
    volatile VmCap.Victims victims = new VmCap.Victims(true, Long.MAX_VALUE, ArchiveTier.SAVED, Duration.ZERO);

    VmOperations(StateTable table, HostRegistry hosts, HostIndex index, Placement placement, ExecutorService workers,
                 Readiness probe, Supplier<Settings> settings, Supplier<ImageStore> images,
                 Function<Offering, Object> offeringLocks, Map<Activation, DurationEstimate> estimates,
                 Map<String, LoadMeter> loads) {
        this.table = table;
        this.hosts = hosts;
        this.index = index;
        this.placement = placement;
        this.workers = workers;
        this.probe = probe;
        this.settings = settings;
        this.images = images;
        this.offeringLocks = offeringLocks;
        this.estimates = estimates;
        this.loads = loads;
    }

    /** Whether a VM's host can be asked to move it now: it is connected. */
    boolean reachable(VmRecord vm) {
        return hosts.connected(vm.hostId());
    }

    boolean waking(String vmId) {
        return activations.containsKey(vmId);
    }

    Duration estimate(Activation kind) {
        return estimates.get(kind).get();
    }

    // ---- sleep, archive, destroy: synchronous, on the caller's thread --------------------------------------

    /**
     * Suspends an ACTIVE VM in memory.
     *
     * @return its row once SLEEPING, or empty if it was not ACTIVE any more
     * @throws OperationFailedException if the driver refused (it is ACTIVE again)
     */
    Optional<VmRecord> sleep(VmRecord vm, String reason) {
        boolean answering = answersNow(vm);
        if (table.move(vm.id(), VmState.ACTIVE, VmState.SUSPENDING, reason).isEmpty()) {
            return Optional.empty();
        }
        try {
            hosts.connection(vm.hostId()).suspend(vm.id());
        } catch (HypervisorException | RuntimeException e) {
            table.move(vm.id(), VmState.SUSPENDING, VmState.ACTIVE, "sleep failed: " + e.getMessage());
            throw new OperationFailedException("sleeping " + vm.id() + " failed: " + e.getMessage(), e);
        }
        Optional<VmRecord> asleep = table.move(vm.id(), VmState.SUSPENDING, VmState.SLEEPING, reason);
        asleep.ifPresent(v -> {
            rememberAnswering(vm, answering);
            LOG.info("VM {} ({}) on {} is SLEEPING{}: {}", v.id(), v.offering().key(), v.hostId(),
                    answering ? "" : " (its service did not answer before: it is probed when resumed)", reason);
        });
        return asleep;
    }

    /**
     * Whether every endpoint of an ACTIVE VM answers one try now. A VM suspended or saved while it answered answers
     * again the moment it is resumed or restored (its memory, sockets included, is as it was), so its wake needs no
     * probe: the probe is paid here, off the request path, instead of on the wake a client waits for (under TCG a
     * probe's GET costs 10-15 ms against a 2 ms resume).
     */
    private boolean answersNow(VmRecord vm) {
        if (vm.endpoint() == null) {
            return false;
        }
        Duration attempt = settings.get().probe().attempt();
        CompletableFuture<Void> answered = probe.await(vm.endpoints(), new EndpointProbe.Timing(attempt, attempt,
                attempt));
        try {
            answered.get(attempt.toMillis() + 1000, TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException | TimeoutException e) {
            answered.cancel(false);
            return false;
        } catch (InterruptedException e) {
            answered.cancel(false);
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Notes whether an ACTIVE VM answered before it was stopped (suspended or saved), on its endpoints then. */
    private void rememberAnswering(VmRecord active, boolean answering) {
        if (!answering) {
            answeredWhenStopped.remove(active.id());
            return;
        }
        answeredWhenStopped.put(active.id(), Map.copyOf(active.endpoints()));
        if (answeredWhenStopped.size() > STALE_ENTRIES_CHECKED_ABOVE) { // VMs gone elsewhere (vanished, reconciled)
            answeredWhenStopped.keySet().removeIf(id -> table.vm(id)
                    .map(v -> v.state() != VmState.SLEEPING && v.state() != VmState.ARCHIVED).orElse(true));
        }
    }

    /**
     * As {@link #archive}, where the VM's host keeps no archives in {@code tier} ({@link HostConnection#archiveTiers},
     * e.g. the qemu driver's hosts keep SAVED only) in the nearest it keeps: a VM not archived yet is SAVED, an
     * archived one stays as it is (empty). For the lifecycle and eviction, whose policies choose tiers for every host.
     */
    Optional<VmRecord> archiveAsKept(VmRecord vm, ArchiveTier tier, String reason) {
        java.util.Set<ArchiveTier> kept = tiersKept(vm.hostId());
        if (kept.contains(tier)) {
            return archive(vm, tier, reason);
        }
        if (vm.state() == VmState.ARCHIVED) {
            return Optional.empty();
        }
        if (!kept.contains(ArchiveTier.SAVED)) {
            return archive(vm, tier, reason); // it keeps no archive at all: its driver says why
        }
        return archive(vm, ArchiveTier.SAVED, reason + "; SAVED: host " + vm.hostId() + " keeps no " + tier
                + " archives");
    }

    /** The archive tiers a host keeps; every tier when that cannot be asked now (its archive call then decides). */
    java.util.Set<ArchiveTier> tiersKept(String host) {
        try {
            return hosts.connection(host).archiveTiers();
        } catch (HypervisorException | RuntimeException e) {
            return java.util.EnumSet.allOf(ArchiveTier.class);
        }
    }

    /**
     * Archives an ACTIVE or SLEEPING VM in {@code tier}, or moves an ARCHIVED one's archive into {@code tier}.
     *
     * @return its row once ARCHIVED, or empty if it was not in the state {@code vm} has any more
     * @throws OperationFailedException if the driver refused (it is back in its state)
     */
    Optional<VmRecord> archive(VmRecord vm, ArchiveTier tier, String reason) {
        VmState from = vm.state();
        boolean answering = from == VmState.ACTIVE && answersNow(vm);
        if (table.move(vm.id(), from, VmState.ARCHIVING, reason).isEmpty()) {
            return Optional.empty();
        }
        Archive archive;
        try {
            archive = hosts.connection(vm.hostId()).archive(vm.id(), tier, compressionLevel);
        } catch (HypervisorException | RuntimeException e) {
            table.move(vm.id(), VmState.ARCHIVING, from, "archive in tier " + tier + " failed: " + e.getMessage());
            throw new OperationFailedException("archiving " + vm.id() + " failed: " + e.getMessage(), e);
        }
        String detail = reason + " (" + tier + ", " + archive.bytes() + " bytes"
                + (archive.rawBytes() > 0 && archive.rawBytes() != archive.bytes()
                ? " of " + archive.rawBytes() + " saved" : "") + ")";
        Optional<VmRecord> archived = table.move(vm.id(), VmState.ARCHIVING, VmState.ARCHIVED,
                row -> row.withArchive(archive).withEndpoints(Map.of()).withState(VmState.ARCHIVED, detail));
        if (from == VmState.ARCHIVED) {
            // a new tier is not a new archive: its age (the lifecycle's timers) still counts from when it was archived
            archived = archived.flatMap(v -> table.update(v.id(), VmState.ARCHIVED, row -> row.since(vm.inStateSince())));
        }
        archived.ifPresent(v -> {
            if (from == VmState.ACTIVE) {
                rememberAnswering(vm, answering);
            } // from SLEEPING or another tier: the memory saved is the one suspended, answering or not as it was then
            LOG.info("VM {} ({}) on {} is ARCHIVED: {}", v.id(), v.offering().key(), v.hostId(), detail);
        });
        loads.remove(vm.id());
        return archived;
    }

    /**
     * Destroys a VM in a resting state (or FAILED): DESTROYING, the driver's destroy, DESTROYED.
     *
     * @return its row once DESTROYED, or empty if it was not in the state {@code vm} has any more
     */
    Optional<VmRecord> destroy(VmRecord vm, String reason) {
        if (table.move(vm.id(), vm.state(), VmState.DESTROYING, reason).isEmpty()) {
            return Optional.empty();
        }
        destroyQuietly(vm, VmState.DESTROYED, reason);
        Optional<VmRecord> gone = table.vm(vm.id()).filter(v -> v.state() == VmState.DESTROYED);
        gone.ifPresent(v -> LOG.info("VM {} ({}) on {} is DESTROYED: {}", v.id(), v.offering().key(), v.hostId(),
                reason));
        return gone;
    }

    /** Destroys a VM's guest whatever state it is in, then moves its row to {@code finalState}. */
    void destroyQuietly(VmRecord vm, VmState finalState, String detail) {
        try {
            hosts.connection(vm.hostId()).destroy(vm.id());
        } catch (Exception e) {
            LOG.warn("Destroying {} on {} failed: {}", vm.id(), vm.hostId(), e.getMessage());
        }
        table.moveFromAny(vm.id(), finalState, detail);
        loads.remove(vm.id());
        answeredWhenStopped.remove(vm.id());
        wakesRefused.remove(vm.id());
    }

    // ---- relocation -----------------------------------------------------------------------------------------

    /**
     * Moves an ARCHIVED VM's archive to {@code target} (room there is not needed: an archive holds none).
     *
     * @return its row on its new host, or empty if it was not ARCHIVED on {@code vm}'s host any more (a row read
     *         before another thread or appliance moved it: the archive is not where that row says)
     * @throws OperationFailedException if the driver refused (it is ARCHIVED where it was)
     */
    Optional<VmRecord> relocate(VmRecord vm, String target, String reason) {
        boolean declined = table.move(vm.id(), VmState.ARCHIVED, VmState.ARCHIVING,
                row -> row.hostId().equals(vm.hostId()) ? row.withState(VmState.ARCHIVING, reason) : null)
                .isEmpty();
        if (declined) {
            return Optional.empty();
        }
        Archive moved;
        try {
            moved = relocateArchive(vm, target);
        } catch (HypervisorException | RuntimeException e) {
            table.move(vm.id(), VmState.ARCHIVING, VmState.ARCHIVED, "relocation to " + target + " failed: "
                    + e.getMessage());
            throw new OperationFailedException("moving " + vm.id() + " to " + target + " failed: " + e.getMessage(), e);
        }
        String detail = reason + ": moved from " + vm.hostId() + " to " + target;
        Optional<VmRecord> there = table.move(vm.id(), VmState.ARCHIVING, VmState.ARCHIVED,
                row -> row.withHost(target).withArchive(moved).withState(VmState.ARCHIVED, detail));
        there.ifPresent(v -> LOG.info("VM {} ({}) relocated: {}", v.id(), v.offering().key(), detail));
        return there;
    }

    /** The driver's part of a relocation: the image staged on the target, the archive handed over. */
    private Archive relocateArchive(VmRecord vm, String target) throws HypervisorException {
        HostConnection from = hosts.connection(vm.hostId());
        HostConnection to = hosts.connection(target);
        Settings s = settings.get();
        List<VmSpec.GuestService> services = s.guestServices(vm.offering());
        ImageRef image;
        try {
            image = images.get().obtain(vm.offering(), services);
        } catch (org.servicefarm.api.image.ImageException e) {
            throw new HypervisorException("the image of " + vm.id() + " cannot be had on " + target + ": "
                    + e.getMessage(), e);
        }
        StagedImage staged = to.stage(image);
        return from.relocate(vm.id(), to, new VmSpec(vm.id(), vm.offering(), staged, vm.resources().vcpus(),
                vm.resources().memoryMiB(), services, vm.createdAt()));
    }

    // ---- wake: in the background ----------------------------------------------------------------------------

    /**
     * Resumes a SLEEPING or restores an ARCHIVED VM in the background; called under the offering's lock. An ARCHIVED
     * VM needs room and a slot under the VM cap again: on its own host if it can take it, else on another host
     * placement chooses (its archive is moved there), else after evicting a VM on its own host.
     *
     * @return the work, or {@code null} if the VM is not in the state {@code vm} has any more
     * @throws VmCap.NoRoomException if no room can be made for an archived VM
     */
    Work wake(VmRecord vm, Activation kind) throws VmCap.NoRoomException {
        VmState resting = vm.state();
        VmState moving = kind == Activation.RESUMED ? VmState.RESUMING : VmState.RESTORING;
        String target = vm.hostId();
        Optional<VmRecord> moved;
        if (kind == Activation.RESUMED) {
            moved = table.move(vm.id(), resting, moving, "resuming on " + vm.hostId());
        } else {
            target = reserveForRestore(vm);
            String to = target;
            // the row names the host whose room it holds; relocated, its archive follows in the background
            moved = table.moveReserved(vm.id(), resting, moving, row -> (to.equals(row.hostId()) ? row
                    : row.withHost(to)).withState(moving, "restoring on " + to
                    + (to.equals(vm.hostId()) ? "" : " (relocated from " + vm.hostId() + ")")), capacityOf(to));
            if (moved.isEmpty()) {
                index.vacate(target, vm.resources(), vm.offering().securityLevel());
                table.releaseSlot();
            }
        }
        if (moved.isEmpty()) {
            return null;
        }
        String host = target;
        Work work = new Work(new CompletableFuture<>(), (kind == Activation.RESUMED ? "resuming " : "restoring ")
                + vm.id() + " on " + host, System.nanoTime(), estimates.get(kind).get());
        activations.put(vm.id(), work);
        Runnable undo = () -> {
            activations.remove(vm.id(), work);
            table.move(vm.id(), moving, resting, "not woken: the manager is stopping");
        };
        try {
            workers.execute(() -> runWake(vm, kind, host, resting, moving, work));
        } catch (RejectedExecutionException e) {
            undo.run();
            work.future().completeExceptionally(e);
            throw new IllegalStateException("the service manager is stopping", e);
        }
        return work;
    }

    private void runWake(VmRecord vm, Activation kind, String host, VmState resting, VmState moving, Work work) {
        String archiveHost = vm.hostId();
        try {
            if (!host.equals(vm.hostId())) {
                Archive moved = relocateArchive(vm, host);
                archiveHost = host;
                table.update(vm.id(), moving, row -> row.withArchive(moved));
            }
            HostConnection connection = hosts.connection(host);
            Map<String, Endpoint> endpoints;
            try {
                endpoints = kind == Activation.RESUMED ? connection.resume(vm.id()) : connection.restore(vm.id());
            } catch (HypervisorException | RuntimeException e) {
                if (givenUp(vm, host, connection, work, e)) {
                    return;
                }
                throw e;
            }
            wakesRefused.remove(vm.id());
            VmRecord waking = table.update(vm.id(), moving, row -> row.withEndpoints(endpoints)).orElseThrow(
                    () -> new IllegalStateException("VM " + vm.id() + " left " + moving + " while it was woken"));
            boolean answersAsBefore = endpoints.equals(answeredWhenStopped.remove(vm.id()));
            serving(waking, answersAsBefore).whenCompleteAsync((answered, silent) -> {
                Throwable failure = silent == null ? null : FarmServiceManager.cause(silent);
                if (failure == null) {
                    try {
                        VmRecord active = serveFrom(waking, moving, kind == Activation.RESUMED ? "resumed"
                                : "restored from tier " + (vm.archive() == null ? "?" : vm.archive().tier()),
                                () -> activations.remove(vm.id(), work));
                        estimates.get(kind).record(FarmServiceManager.since(work.startNanos()));
                        work.future().complete(new Ready(active, kind));
                        return;
                    } catch (RuntimeException | Error e) { // the row vanished meanwhile: still an answer
                        failure = e;
                    }
                }
                // it runs but does not serve: broken, so it goes (putting it back would not be true)
                String why = work.doing() + " failed: " + failure.getMessage();
                LOG.warn("{}; destroying it", why);
                activations.remove(vm.id(), work);
                destroyQuietly(waking, VmState.FAILED, why);
                work.future().completeExceptionally(new WakeFailedException(vm.id(), why, failure));
            }, workers);
        } catch (Exception | Error e) { // whatever happens, joined requests must get an answer
            String why = work.doing() + " failed: " + e.getMessage();
            LOG.warn("{}", why);
            // the VM is still where its archive (or its memory) is: leave it there for the next attempt
            String stays = archiveHost;
            table.move(vm.id(), moving, resting, row -> (stays.equals(row.hostId()) ? row : row.withHost(stays))
                    .withState(resting, why));
            activations.remove(vm.id(), work);
            work.future().completeExceptionally(new WakeFailedException(vm.id(), why, e));
        }
    }

    /**
     * Counts a wake the host refused while it answers (the VM's own failure) and gives the VM up at
     * {@code wake.attempts} in a row: FAILED, removed from its host, the work failed.
     *
     * @return whether it was given up; if not, it goes back to rest as after any failed wake
     */
    private boolean givenUp(VmRecord vm, String host, HostConnection connection, Work work, Exception e) {
        if (!connection.alive()) {
            return false; // its host went, not the VM: nothing is known of the VM
        }
        int refused = wakesRefused.merge(vm.id(), 1, Integer::sum);
        int attempts = settings.get().wakeAttempts();
        if (refused < attempts) {
            return false;
        }
        String why = work.doing() + " failed: " + e.getMessage() + "; " + (attempts == 1 ? "its wake"
                : refused + " wakes in a row") + " failed on a host that answers: the VM is given up";
        LOG.warn("{}; destroying it", why);
        activations.remove(vm.id(), work);
        destroyQuietly(vm.withHost(host), VmState.FAILED, why); // where the wake was tried, its archive moved there
        work.future().completeExceptionally(new WakeFailedException(vm.id(), why, e));
        return true;
    }

    /** What a host has in all, as the index knows it (none for a host gone meanwhile: nothing fits there). */
    Capacity capacityOf(String host) {
        return index.status(host).map(h -> h.host().capacity()).orElse(Capacity.ZERO);
    }

    /**
     * Reserves a slot under the cap and room for an archived VM: on its own host, else on another one placement
     * chooses, else after evicting a VM of its own host.
     *
     * @return the host the room is on
     */
    private String reserveForRestore(VmRecord vm) throws VmCap.NoRoomException {
        Settings s = settings.get();
        VmCap vmCap = cap;
        vmCap.reserveSlot(s.vmCap(), vm.offering(), victims);
        String level = vm.offering().securityLevel();
        try {
            if (index.tryReserveOn(vm.hostId(), vm.resources(), level)) {
                return vm.hostId();
            }
            Placement.Decision decision = placement.place(new PlacementRequest(vm.offering(), s.defaultTier(),
                    vm.resources(), List.of(), hosts.guestsOf(vm)));
            if (decision.host().isPresent()) {
                return decision.host().get().name();
            }
            if (index.status(vm.hostId()).map(h -> h.connected() && !h.drained()).orElse(false)) {
                vmCap.evictOne(vm.offering(), victims, other -> other.hostId().equals(vm.hostId()),
                        "restoring " + vm.id() + " needs room on " + vm.hostId());
                if (index.tryReserveOn(vm.hostId(), vm.resources(), level)) {
                    return vm.hostId();
                }
            }
            throw new VmCap.NoRoomException("no host has room to restore " + vm.id() + ": " + decision.reason());
        } catch (VmCap.NoRoomException | RuntimeException e) {
            table.releaseSlot();
            throw e;
        }
    }

    /** Completes once every endpoint of the VM answers; fails at once without an endpoint for its own service. */
    CompletableFuture<Void> serving(VmRecord vm) {
        return serving(vm, false);
    }

    /** {@link #serving(VmRecord)} for a woken VM, which answers at once when it answered as it was stopped. */
    private CompletableFuture<Void> serving(VmRecord vm, boolean answeredWhenStopped) {
        if (vm.endpoint() == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("host " + vm.hostId()
                    + " reported no endpoint for service " + vm.offering().service()));
        }
        CompletableFuture<Void> answered = probe.awaitWoken(vm.endpoints(), answeredWhenStopped, settings.get().probe());
        awaitingAnswer.put(vm.id(), answered);
        answered.whenComplete((ok, failure) -> awaitingAnswer.remove(vm.id(), answered));
        return answered;
    }

    /**
     * A hypervisor reported that the guest of a VM coming up failed (it crashed, or was killed, while it booted or
     * woke): the wait for its services ends now with that failure, so its move fails and its requests are answered
     * at once, instead of after the probe's limit (minutes) spent on a guest that will never answer.
     */
    void guestFailed(VmEvent event) {
        CompletableFuture<Void> answered = awaitingAnswer.get(event.vmId());
        if (answered != null && answered.completeExceptionally(new GuestFailedException("its guest failed on host "
                + event.host() + " before its services answered (hypervisor: " + event.detail() + ")"))) {
            LOG.warn("VM {}: its guest failed on {} while it came up ({}); not waiting for its services",
                    event.vmId(), event.host(), event.detail());
        }
    }

    /** The guest of a VM coming up failed before its services answered. */
    static final class GuestFailedException extends Exception {
        private static final long serialVersionUID = 1L;

        GuestFailedException(String message) {
            super(message);
        }
    }

    /**
     * Makes the VM ACTIVE and ends the work that brought it there, as one step under the offering's lock: a request
     * sees either the work under way or the ACTIVE VM, never both or neither.
     */
    VmRecord serveFrom(VmRecord vm, VmState from, String detail, Runnable endWork) {
        synchronized (offeringLocks.apply(vm.offering())) {
            VmRecord active = table.move(vm.id(), from, VmState.ACTIVE,
                    row -> row.withArchive(null).withState(VmState.ACTIVE, detail)).orElseThrow(
                    () -> new IllegalStateException("VM " + vm.id() + " left " + from + " before it served"));
            endWork.run();
            return active;
        }
    }
}
