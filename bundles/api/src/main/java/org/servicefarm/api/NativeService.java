package org.servicefarm.api;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A service a host runs itself, without a VM (a physical server with its own web server, say): the directory grants
 * it as it is, at its endpoint, to the requests for its offering, before any VM is reused, woken or created.
 * <p>
 * Every field is bounded here, where a native service enters the API (a configuration file, a REST body, a shell
 * command), so nothing downstream sees a value it would have to escape: the host and zone are {@link Names names},
 * the address a DNS name or an IP address.
 *
 * @param name         what operators call it, unique regardless of case: a host name's grammar ({@link
 *                     HostRecord#name()}); a configuration file's name ({@code org.servicefarm.native-<name>.cfg})
 * @param host         the host that runs it: a host name as {@link HostRecord#name()} has it (it need not be a host of
 *                     the farm's hypervisors)
 * @param offering     the combination it offers, every field chosen (it runs what it runs)
 * @param endpoint     where clients reach it: the host's DNS name or IP address, and the service's port
 * @param securityZone the zone the host stands in; a security level kept to its own zone is served only by a host of
 *                     that zone, as VMs are
 * @since 1.10
 */
public record NativeService(String name, String host, Offering offering, Endpoint endpoint, String securityZone) {

    /** A DNS name (labels of letters, digits and '-'), an IPv4 address, or an IPv6 address without brackets. */
    private static final Pattern ADDRESS = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\\.?|[0-9A-Fa-f:.]{2,45}");

    public NativeService {
        hostName("name", name);
        hostName("host", host);
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(endpoint, "endpoint");
        if (!ADDRESS.matcher(endpoint.host()).matches()
                || endpoint.host().indexOf(':') >= 0 && endpoint.host().chars().filter(c -> c == ':').count() < 2) {
            throw new InvalidRequestException("address", "address must be a DNS name or an IP address, not '"
                    + Names.excerpt(endpoint.host()) + "'");
        }
        Names.required("securityZone", securityZone);
    }

    /**
     * A native service from its loose fields, as a configuration file, a REST body or a shell command gives them: an
     * address left out or a port out of range refused by name ({@code address}, {@code port}), before the record's own
     * rules; the zone {@code standard} when left out.
     *
     * @throws InvalidRequestException naming the field
     */
    public static NativeService of(String name, String host, String address, Integer port, String securityZone,
                                   Offering offering) {
        if (address == null || address.isBlank()) {
            throw new InvalidRequestException("address", "address is required");
        }
        if (port == null) {
            throw new InvalidRequestException("port", "port is required");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidRequestException("port", "port must be 1 to 65535, not " + port);
        }
        return new NativeService(name, host, offering, new Endpoint(address, port),
                securityZone == null ? "standard" : securityZone);
    }

    private static void hostName(String field, String value) {
        if (value == null || !HostRecord.validName(value)) {
            throw new InvalidRequestException(field, field + " must be 1-63 letters, digits, '.', '_' or '-', starting "
                    + "with a letter or digit, not '" + Names.excerpt(String.valueOf(value)) + "'");
        }
    }

    /** How logs name it: {@code s140-wiki (wiki@2.1/debian-12/nginx-1.22/php-8.2[standard] on s140)}. */
    @Override
    public String toString() {
        return name + " (" + offering.key() + " on " + host + ")";
    }
}
