package org.servicefarm.api.driver;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.image.ImageRef;

/**
 * One connected host. VM ids are the manager's; a driver must never put them (or any other
 * name) into hypervisor configuration unescaped. Every call is synchronous and thread-safe.
 * <p>
 * Readiness is the core's, not the driver's: {@link #start}, {@link #resume} and {@link #restore} return once the
 * hypervisor runs the guest, with the endpoints its services will answer on; the core probes those endpoints and
 * counts the VM as serving only once they answer. An endpoint is an address a client can connect to (an IP address
 * or a name the host is configured with), never the farm's name for the host; a driver reports endpoints once it
 * knows them, which may be only after the guest booted.
 */
@ConsumerType
public interface HostConnection extends AutoCloseable {

    HostRecord host();

    /**
     * Whether this host boots guests from an image's artifacts (kernel, initrd, disk), as QEMU does. A host that
     * does not (libvirt's test driver, which only simulates its guests) can also run images that are compositions
     * only ({@link ImageRef#compositionOnly()}); a host that does cannot, and the core never places such an image
     * there. The answer is fixed for the life of the connection.
     *
     * @since 3.1
     */
    default boolean needsArtifacts() {
        return true;
    }

    /**
     * Makes an image's artifacts available on this host, so that VMs placed here can be defined from it. The core
     * calls it after placement chose this host and before {@link #define}. Idempotent: artifacts the host already
     * holds (by their sha256) are not transferred again. May take long (an upload to a remote host).
     *
     * @return where the artifacts are on this host; an image without artifacts stages to no locations
     */
    StagedImage stage(ImageRef image) throws HypervisorException;

    /** Defines a VM from its staged image, ready to be started. Nothing runs yet. */
    void define(VmSpec spec) throws HypervisorException;

    /**
     * Boots a defined VM and returns once the hypervisor runs it; its services may still be booting.
     *
     * @return where each service of the spec will be reached, by service name
     */
    Map<String, Endpoint> start(String vmId) throws HypervisorException;

    /** Pauses a running VM in memory. */
    void suspend(String vmId) throws HypervisorException;

    /**
     * Resumes a suspended VM and returns once it runs again.
     *
     * @return where each of its services is reached, by service name
     */
    Map<String, Endpoint> resume(String vmId) throws HypervisorException;

    /** Saves a running or suspended VM's state to disk and stops it. */
    void save(String vmId) throws HypervisorException;

    /**
     * The archive tiers this host keeps ({@link #archive}). The default keeps SAVED only, as {@link #save} leaves it;
     * a driver that compresses or deltas saved state says so. The core archives in a tier a host does not keep as
     * the nearest it does (a running VM SAVED; an archived one stays as it is).
     *
     * @since 3.3
     */
    default java.util.Set<ArchiveTier> archiveTiers() {
        return java.util.EnumSet.of(ArchiveTier.SAVED);
    }

    /**
     * Archives a VM in {@code tier}: a running or suspended VM is saved first ({@link #save}); an archived one has its
     * saved state moved into {@code tier} (e.g. compressed). {@link #restore} brings it back from any tier. Which tier
     * is the caller's choice; how a tier is made is the driver's.
     *
     * @param compressionLevel the compressor's level for the compressed and delta tiers (zstd: 1 to 19)
     * @return the archive's tier and bytes on this host
     * @throws HypervisorException if the VM cannot be saved, or this host cannot keep {@code tier}
     * @since 3.2
     */
    default Archive archive(String vmId, ArchiveTier tier, int compressionLevel) throws HypervisorException {
        if (tier != ArchiveTier.SAVED) {
            throw new HypervisorException("host " + host().name() + " keeps saved state only as it is saved, not "
                    + tier);
        }
        save(vmId);
        return new Archive(ArchiveTier.SAVED, -1, -1);
    }

    /**
     * Moves an ARCHIVED VM's archive from this host to {@code target}, another host of the same driver, where it is
     * defined from {@code spec} (its image staged there) and stays ARCHIVED; afterwards this host has no trace of it.
     * {@link #restore} on {@code target} brings it back there.
     *
     * @return the archive as {@code target} keeps it
     * @throws HypervisorException if the archive cannot be moved; the VM is then still ARCHIVED here
     * @since 3.2
     */
    default Archive relocate(String vmId, HostConnection target, VmSpec spec) throws HypervisorException {
        throw new HypervisorException("host " + host().name() + " cannot move a VM's archive to another host");
    }

    /**
     * Starts a saved VM from its saved state and returns once the hypervisor runs it.
     *
     * @return where each of its services is reached, by service name
     */
    Map<String, Endpoint> restore(String vmId) throws HypervisorException;

    /** Stops a VM if it runs and removes its definition and saved state. Idempotent. */
    void destroy(String vmId) throws HypervisorException;

    /**
     * The guests the hypervisor has for this farm, for reconciling the state table: each with its resting state and
     * what the farm recorded on it at define ({@link GuestInfo.Recorded}), or why that cannot be read
     * ({@link GuestInfo.Unrecorded}).
     */
    List<GuestInfo> guests() throws HypervisorException;

    /**
     * Whether this host makes checkpoints ({@link #checkpoint}) and starts new VMs from them: a VM defined from a
     * staged image of kind {@link ImageRef.Kind#CHECKPOINT CHECKPOINT} restores it on {@link #start} instead of
     * booting. The answer is fixed for the life of the connection.
     *
     * @since 3.2
     */
    default boolean restoresCheckpoints() {
        return false;
    }

    /**
     * Boots a guest from a staged image until every service of the spec answers, saves its state as a checkpoint
     * of that image on this host, and stops it; an existing checkpoint of the image is returned as it is. The
     * spec's VM id names the template guest only; nothing of it is left running. May take long (a boot).
     *
     * @throws HypervisorException if this host makes no checkpoints, or the guest does not answer in time
     * @since 3.2
     */
    default HostCheckpoint checkpoint(VmSpec template) throws HypervisorException {
        throw new HypervisorException("host " + host().name() + " makes no checkpoints");
    }

    /**
     * The checkpoints this host holds, for the image store to record again after the appliance restarted.
     *
     * @since 3.2
     */
    default List<HostCheckpoint> checkpoints() throws HypervisorException {
        return List.of();
    }

    /**
     * Deletes a checkpoint this host holds ({@link #checkpoints}) with what the host keeps ready for it (pre-started
     * processes): its image left the image store, so no new VM will start from it. Nothing happens when the host
     * holds no such checkpoint.
     *
     * @throws HypervisorException if it cannot be deleted now (VMs run from it), or deleting it failed
     * @since 3.2
     */
    default void deleteCheckpoint(String id) throws HypervisorException {
    }

    /**
     * What this host holds staged that none of {@code needed} uses: {@code needed} are the images the farm keeps (its
     * image store's), so the rest was staged for an image since evicted or replaced. Listed whether or not a guest
     * still uses it; {@link #unstage} decides that. The default, for a host that keeps nothing staged, lists nothing.
     *
     * @since 3.5
     */
    default List<StagedContent> stagedBeyond(java.util.Collection<ImageRef> needed) throws HypervisorException {
        return List.of();
    }

    /**
     * Deletes what {@link #stagedBeyond} listed, unless a guest defined on the host still uses it (running, sleeping
     * or archived; this farm's or another's sharing the host). Nothing happens when it is gone already.
     *
     * @throws HypervisorException if a guest uses it (the caller asks again later), or deleting it failed
     * @since 3.5
     */
    default void unstage(String id) throws HypervisorException {
    }

    /**
     * How full the place is where this host keeps what it stages, so that the farm can unstage what no guest uses
     * before it runs out; empty when the host does not say or has staged nothing yet. The default says nothing.
     *
     * @since 3.6
     */
    default Optional<StagingSpace> stagingSpace() throws HypervisorException {
        return Optional.empty();
    }

    /**
     * Disconnects because the host left the farm (its configuration was removed), not because the appliance stops
     * or reconnects: like {@link #close}, and what the host kept running only for the farm's future VMs (pre-started
     * processes) is stopped too. Guests keep running.
     *
     * @since 3.2
     */
    default void retire() {
        close();
    }

    /**
     * Whether this connection still reaches the host's hypervisor. A daemon restart or a cut network ends a connection
     * for good (its calls fail, its events stop): the farm then closes it and connects again. Asked every few seconds,
     * so it must not block on the host. The default, for a connection nothing outside can end, is true.
     *
     * @since 3.4
     */
    default boolean alive() {
        return true;
    }

    /** Disconnects; events stop. Guests keep running. */
    @Override
    void close();
}
