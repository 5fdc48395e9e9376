package org.servicefarm.api;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.driver.StagingSpace;

/**
 * Told of what happens in the farm as it happens, so that a front end (dashboard, metrics) follows it without
 * polling. Register one as a service; every registered listener is told. Calls come from the manager's own threads,
 * some while a VM's row is locked (so a VM's changes arrive in the order they happened): a listener must return at
 * once, handing anything slow to a thread of its own, and must not throw.
 */
@ConsumerType
public interface FarmListener {

    /** A VM's row changed (new, moved to another state, granted again, ...); {@code vm} is the row now. */
    default void vmChanged(VmRecord vm) {
    }

    /**
     * A request was answered (by {@link ServiceManager#request} or {@link ServiceManager#requestAsync}); not called
     * for a malformed request, which is refused before it is a request.
     */
    default void answered(ServiceRequest request, Outcome outcome) {
    }

    /** What the lifecycle did on a decision of the keep-alive policy in force. */
    enum KeepAlive {
        /** Nothing was due for a VM at rest: it stays as it is. */
        KEEP,
        /** A VM was put to sleep. */
        SLEEP,
        /** A VM was archived, or moved to another archive tier. */
        ARCHIVE,
        /** A VM was destroyed. */
        DESTROY,
        /** A VM was brought into service ahead of an expected request. */
        PREWARM
    }

    /**
     * The lifecycle carried out a decision of the keep-alive policy in force (a move due but not made, because
     * another move got there first or it failed, is not told). Called on the lifecycle's thread once per VM at rest
     * per sweep (KEEP included) and per VM pre-warmed.
     *
     * @param policy   the policy's name (its {@code keepalive.name} service property), e.g. {@code fixed}
     * @param decision what was done
     * @param tier     for {@link KeepAlive#ARCHIVE}, the tier the VM was archived into; otherwise {@code null}
     * @since 1.5
     */
    default void keepAliveDecided(String policy, KeepAlive decision, ArchiveTier tier) {
    }

    /**
     * A host deleted something it held staged that no image of the store needs any more (its image was evicted or
     * replaced), or that no VM of the host runs from while its staging space runs short. Called on the sweep's
     * thread, once per deletion.
     *
     * @param host  the farm host
     * @param label what it was, in the host's words (e.g. "volume 3f2a…")
     * @param bytes what it took on the host, or -1 when the host did not say
     * @since 1.11
     */
    default void unstaged(String host, String label, long bytes) {
    }

    /**
     * How full a host's staging space was when read (what its driver says; a host that does not say is not told): at
     * each sweep of staged content, after the sweep unstaged there, and when a staging there failed. Called on the
     * sweep's thread; the last reading is also the host's {@link HostStatus#staging}.
     *
     * @param host  the farm host
     * @param space its staging space's capacity and what is available in it
     * @since 1.12
     */
    default void stagingSpaceRead(String host, StagingSpace space) {
    }
}
