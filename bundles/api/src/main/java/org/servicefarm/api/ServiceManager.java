package org.servicefarm.api;

import java.util.List;

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

    DirectoryView directory();

    StateTableView stateTable();

    /** Every configured host with its use and connection. */
    List<HostStatus> hosts();

    /**
     * Adds a host at run time; it is persisted as a factory configuration and survives a restart.
     *
     * @throws InvalidRequestException if the record is invalid
     * @throws ConflictException       if a host of that name exists
     */
    HostStatus registerHost(HostRecord host);

    /**
     * Removes a host that runs no VM.
     *
     * @throws NotFoundException if there is no such host
     * @throws ConflictException if VMs still occupy it
     */
    void unregisterHost(String name);
}
