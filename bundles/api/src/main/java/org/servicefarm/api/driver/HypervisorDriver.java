package org.servicefarm.api.driver;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;

/**
 * A hypervisor driver family (libvirt, XAPI). Registered with {@link #NAME}; hosts whose
 * {@link HostRecord#driver()} equals that name are connected through it.
 * <p>
 * A host's {@link HostRecord#uri() uri} and {@link HostRecord#properties() properties} are untrusted
 * input (a REST client, an etc/ file): the driver alone knows what they may say, and says it twice,
 * in {@link #validate} before anything is persisted and again in {@link #connect}.
 */
@ConsumerType
public interface HypervisorDriver {

    /** Service property (String): the driver's name, matched against {@link HostRecord#driver()}. */
    String NAME = "hypervisor.driver.name";

    /**
     * Checks a host's {@link HostRecord#uri() uri} and {@link HostRecord#properties() driver properties}
     * against this driver's rules without connecting: nothing is opened, started or contacted (a host name
     * may be resolved), and no file's content is read. The core calls it before a host is persisted or
     * connected; {@link #connect} applies the same rules, so hosts from configuration files are held to
     * them too.
     *
     * @param host a host naming this driver, its fields already bounded by {@link HostRecord}
     * @throws InvalidRequestException naming the offending field ({@code uri}, {@code properties.<key>}, ...),
     *                                 with a message that repeats no more of the value than an excerpt
     *                                 ({@link org.servicefarm.api.Names#excerpt}) and never a credential
     */
    void validate(HostRecord host);

    /**
     * Connects to a host, after checking it as {@link #validate} does. The connection reports lifecycle
     * events it observes to {@code events} until it is closed.
     *
     * @throws HypervisorException if the host breaks the driver's rules, cannot be reached or its
     *                             configuration is wrong; the message is fit to show to an operator
     *                             (no file content, no credentials, no control characters)
     */
    HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException;
}
