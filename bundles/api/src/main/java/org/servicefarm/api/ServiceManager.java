package org.servicefarm.api;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The service manager: the one place that answers requests. Front ends (REST, shell, DNS)
 * call it and nothing else of the core.
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
        throw new UnsupportedOperationException("this service manager does not explain its decisions");
    }

    DirectoryView directory();

    StateTableView stateTable();

    /** Every configured host with its use and connection. */
    List<HostStatus> hosts();

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
     * Drains a host ({@code drained} true): no new VM is placed there, and the VMs it runs stay; or undrains it.
     * Shown in the host's status.
     *
     * @return the host's status after the change
     * @throws NotFoundException if there is no such host
     */
    default HostStatus drain(String name, boolean drained) {
        throw new UnsupportedOperationException("this service manager cannot drain hosts");
    }

    /**
     * Removes a host that runs no VM.
     *
     * @throws NotFoundException if there is no such host
     * @throws ConflictException if VMs still occupy it
     */
    void unregisterHost(String name);
}
