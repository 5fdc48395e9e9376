package org.servicefarm.api;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The service manager: the one place that answers requests. Front ends (REST, shell, DNS)
 * call it and nothing else of the core. A manager that does not offer an operation with a default here (explaining,
 * draining, a VM's moves) throws {@link NotSupportedException}, as the defaults do, saying where to ask instead.
 */
@ProviderType
public interface ServiceManager {

    /**
     * Answers a request within its deadline: GRANTED with an endpoint, RETRY_LATER while the
     * work goes on in the background, or NEVER for a combination that is not viable.
     *
     * @throws InvalidRequestException for a malformed request (nothing is changed)
     */
    Outcome request(ServiceRequest request);

    /**
     * Answers a request as {@link #request} does, without holding the caller's thread while the VM is prepared: the
     * stage completes with the same outcome, at the latest at the request's deadline (RETRY_LATER then, and the work
     * goes on). For front ends that hold many waiting clients (HTTP, DNS). The stage is completed by one of the
     * manager's threads: a caller that does slow work on it should move to its own executor.
     * <p>
     * This default answers on the calling thread, for managers that cannot do better.
     *
     * @throws InvalidRequestException at once, for a malformed request (nothing is changed)
     */
    default CompletionStage<Outcome> requestAsync(ServiceRequest request) {
        return CompletableFuture.completedFuture(request(request));
    }

    /**
     * What {@link #request} would do now, without doing it: whether a VM would be reused, woken or created, and for a
     * creation how the host would be chosen (the filters that removed hosts, the best candidates with their scores,
     * the choice). Nothing is created, reserved or changed.
     *
     * @throws InvalidRequestException for a malformed request
     */
    default Explanation explain(ServiceRequest request) {
        throw unsupported("explain its decisions");
    }

    DirectoryView directory();

    StateTableView stateTable();

    /** Every configured host with its use and connection. */
    List<HostStatus> hosts();

    /**
     * The services hosts run themselves, as configured, and whether each answers now.
     *
     * @since 1.10
     */
    default List<NativeServiceStatus> natives() {
        throw unsupported("list the services hosts run themselves");
    }

    /**
     * Adds a service a host runs itself at run time; it is persisted as a factory configuration (as if written to
     * {@code etc/org.servicefarm.native-<name>.cfg}) and survives a restart. Nothing is persisted when it is refused.
     *
     * @return its status once the manager knows it (its first probe may still be under way)
     * @throws InvalidRequestException naming the field: the catalog does not offer its offering as it is, or its
     *                                 host's zone may not serve the offering's security level
     * @throws ConflictException       one of that name exists (regardless of case), or one of that host and offering
     * @since 1.10
     */
    default NativeServiceStatus registerNative(NativeService service) {
        throw unsupported("add services hosts run themselves");
    }

    /**
     * Removes a service a host runs itself, whether it was added at run time or from a file of {@code etc/}.
     *
     * @throws NotFoundException if there is none of that name
     * @since 1.10
     */
    default void unregisterNative(String name) {
        throw unsupported("remove services hosts run themselves");
    }

    /**
     * Adds a host at run time; it is persisted as a factory configuration and survives a restart.
     * Its driver checks it first ({@link org.servicefarm.api.driver.HypervisorDriver#validate}): on any
     * refusal nothing is persisted and nothing connects.
     *
     * @throws InvalidRequestException naming the field, if the record is invalid, its driver is not installed
     *                                 ({@code driver}) or the driver refuses it ({@code uri}, {@code properties.<key>})
     * @throws ConflictException       if a host of that name exists, regardless of case
     */
    HostStatus registerHost(HostRecord host);

    /**
     * Drains a host ({@code drained} true): no new VM is placed there, and its VMs are moved away (ACTIVE ones once
     * idle, see the lifecycle); or undrains it.
     * Shown in the host's status.
     *
     * @return the host's status after the change
     * @throws NotFoundException if there is no such host
     */
    default HostStatus drain(String name, boolean drained) {
        throw unsupported("drain hosts");
    }

    /**
     * Connects a host now: one waiting for its next try after a failed connect (its hypervisor was down) is tried at
     * once, for an operator who brought it back; a connected host, or one whose connect is under way, is left as it is.
     *
     * @return the host's status after the try (still connecting if its driver has not answered within seconds)
     * @throws NotFoundException if there is no such host
     */
    default HostStatus connect(String name) {
        throw unsupported("connect hosts");
    }

    /**
     * Puts an ACTIVE VM to sleep: suspended in memory, it resumes in milliseconds.
     *
     * @return its row once it sleeps
     * @throws NotFoundException if there is no such VM
     * @throws ConflictException if its state allows no such move now (it is not ACTIVE)
     * @since 1.3
     */
    default VmRecord sleep(String vmId) {
        throw unsupported("put VMs to sleep");
    }

    /**
     * Archives an ACTIVE or SLEEPING VM (its state saved to disk, its host's memory freed), or moves an ARCHIVED one
     * into another tier.
     *
     * @param tier the tier, or {@code null} for the first configured one
     * @return its row once it is ARCHIVED
     * @throws NotFoundException if there is no such VM
     * @throws ConflictException if its state allows no such move now
     * @since 1.3
     */
    default VmRecord archive(String vmId, ArchiveTier tier) {
        throw unsupported("archive VMs");
    }

    /**
     * Wakes a SLEEPING (resume) or ARCHIVED (restore, on another host if its own cannot take it) VM, and returns once
     * it serves or the maximum deadline passed.
     *
     * @return its row after the wake (ACTIVE, or still waking past the deadline)
     * @throws NotFoundException if there is no such VM
     * @throws ConflictException if its state allows no such move now
     * @since 1.3
     */
    default VmRecord wake(String vmId) {
        throw unsupported("wake VMs");
    }

    /**
     * {@link #wake} without holding the caller's thread while the VM is resumed or restored: a front end answers when
     * the stage completes.
     *
     * @return completes with its row once it serves, or once the maximum deadline passed (then still waking); fails
     *         with a {@link ConflictException} if the wake failed
     * @throws NotFoundException if there is no such VM (at once, nothing changed)
     * @throws ConflictException if its state allows no such move now (at once, nothing changed)
     * @since 1.3
     */
    default CompletionStage<VmRecord> wakeAsync(String vmId) {
        return CompletableFuture.completedFuture(wake(vmId));
    }

    /**
     * Destroys a VM: stopped, undefined, its archive deleted; its row stays as DESTROYED history.
     *
     * @return its row once DESTROYED
     * @throws NotFoundException if there is no such VM
     * @throws ConflictException if it is being moved by the manager now (try again) or already destroyed
     * @since 1.3
     */
    default VmRecord destroy(String vmId) {
        throw unsupported("destroy VMs");
    }

    /**
     * Relocates a SLEEPING or ARCHIVED VM to another host (an ACTIVE one is archived first): it arrives ARCHIVED there,
     * and the next request restores it there.
     *
     * @param host the host to move it to, or {@code null} for placement to choose
     * @return its row on its new host
     * @throws NotFoundException        if there is no such VM
     * @throws InvalidRequestException  ({@code host}) if there is no such host, or it is the VM's own
     * @throws ConflictException        if its state allows no such move now, or the host cannot take it
     * @since 1.3
     */
    default VmRecord migrate(String vmId, String host) {
        throw unsupported("relocate VMs");
    }

    /**
     * What the defaults throw for an operation this manager does not offer; a manager overrides it to say where to ask
     * instead.
     *
     * @param operation what it does not do, as words after "does not", e.g. {@code "drain hosts"}
     * @since 1.7
     */
    default NotSupportedException unsupported(String operation) {
        return new NotSupportedException("this service manager does not " + operation);
    }

    /**
     * Removes a host that runs no VM.
     *
     * @throws NotFoundException if there is no such host
     * @throws ConflictException if VMs still occupy it
     */
    void unregisterHost(String name);
}
