package org.servicefarm.api.driver;

import java.util.List;
import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.image.ImageRef;

/**
 * One connected host. VM ids are the manager's; a driver must never put them (or any other
 * name) into hypervisor configuration unescaped. Every call is synchronous and thread-safe.
 */
@ConsumerType
public interface HostConnection extends AutoCloseable {

    HostRecord host();

    /**
     * Makes an image's artifacts available on this host, so that VMs placed here can be defined from it. The core
     * calls it after placement chose this host and before {@link #define}. Idempotent: artifacts the host already
     * holds (by their sha256) are not transferred again. May take long (an upload to a remote host).
     *
     * @return where the artifacts are on this host; an image without artifacts stages to no locations
     */
    StagedImage stage(ImageRef image) throws HypervisorException;

    /**
     * Defines a VM from its staged image and allocates where its services will be reached.
     *
     * @return the endpoint of each service in the spec, by service name
     */
    Map<String, Endpoint> define(VmSpec spec) throws HypervisorException;

    /** Boots a defined VM and returns once its services answer (or the driver's boot time passed). */
    void start(String vmId) throws HypervisorException;

    /** Pauses a running VM in memory. */
    void suspend(String vmId) throws HypervisorException;

    /** Resumes a suspended VM. */
    void resume(String vmId) throws HypervisorException;

    /** Saves a running or suspended VM's state to disk and stops it. */
    void save(String vmId) throws HypervisorException;

    /** Starts a saved VM from its saved state. */
    void restore(String vmId) throws HypervisorException;

    /** Stops a VM if it runs and removes its definition and saved state. Idempotent. */
    void destroy(String vmId) throws HypervisorException;

    /** The guests the hypervisor has for this farm, for reconciling the state table. */
    List<GuestInfo> guests() throws HypervisorException;

    /** Disconnects; events stop. Guests keep running. */
    @Override
    void close();
}
