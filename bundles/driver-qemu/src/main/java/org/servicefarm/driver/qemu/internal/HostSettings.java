package org.servicefarm.driver.qemu.internal;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;

/**
 * What the qemu driver reads from a {@link HostRecord}, each value typed and bounded; unknown keys are refused.
 * A qemu host is this machine: its uri is {@value #URI}, and its name names its directories, so it is restricted
 * to {@code [a-z0-9][a-z0-9-]{0,31}}.
 *
 * <table>
 * <caption>Driver properties ({@code hypervisor.*} keys of the host configuration)</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@value #PORT_RANGE}</td><td>{@value #DEFAULT_PORT_RANGE}</td><td>host ports the guests' services are
 * forwarded from, FIRST-LAST within 1024-65535 (keep it below the ephemeral ports, 32768)</td></tr>
 * <tr><td>{@value #POOL_SIZE}</td><td>{@value #DEFAULT_POOL_SIZE}</td><td>pre-started QEMU processes kept per
 * checkpoint, 0-16; each counts against the host's capacity (memory and VMs) and gives way to a new guest</td></tr>
 * <tr><td>{@value #ENDPOINT_HOST}</td><td>the forward address</td><td>the host name or IP address put in
 * endpoints</td></tr>
 * </table>
 */
record HostSettings(String hostName, int firstPort, int lastPort, int poolSize, String endpointHost) {

    static final String URI = "qemu+direct:///local";
    static final String PORT_RANGE = "portRange";
    static final String POOL_SIZE = "poolSize";
    static final String ENDPOINT_HOST = "endpointHost";
    static final String DEFAULT_PORT_RANGE = "26000-26999";
    static final int DEFAULT_POOL_SIZE = 1;
    static final int MAX_POOL_SIZE = 16;
    private static final Set<String> KNOWN = Set.of(PORT_RANGE, POOL_SIZE, ENDPOINT_HOST);
    private static final Pattern HOST_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    private static final Pattern RANGE = Pattern.compile("([0-9]{4,5})-([0-9]{4,5})");
    private static final Pattern COUNT = Pattern.compile("[0-9]{1,2}");
    private static final Pattern ENDPOINT = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9][A-Za-z0-9-]{0,62}){0,8}");

    /**
     * @throws InvalidRequestException naming the field, repeating no more than an excerpt of the value
     */
    static HostSettings of(HostRecord host, String bindAddress) {
        if (!HOST_NAME.matcher(host.name()).matches()) {
            throw new InvalidRequestException("name", "a qemu host's name names its directories: 1-32 lower-case "
                    + "letters, digits or '-', starting with a letter or digit, not '" + Names.excerpt(host.name()) + "'");
        }
        if (!URI.equals(host.uri())) {
            throw new InvalidRequestException("uri", "a qemu host runs QEMU on this machine: its uri must be " + URI
                    + ", not '" + Names.excerpt(host.uri()) + "'");
        }
        Map<String, String> properties = host.properties();
        for (String key : properties.keySet()) {
            if (!KNOWN.contains(key)) {
                throw new InvalidRequestException(field(key), field(key) + " is not a qemu driver setting; known: "
                        + new TreeSet<>(KNOWN).stream().map(HostSettings::field).toList());
            }
        }
        String range = properties.getOrDefault(PORT_RANGE, DEFAULT_PORT_RANGE).trim();
        var m = RANGE.matcher(range);
        int first = m.matches() ? Integer.parseInt(m.group(1)) : -1;
        int last = m.matches() ? Integer.parseInt(m.group(2)) : -1;
        if (first < Checks.LOWEST_HOST_PORT || last > 65535 || first > last) {
            throw new InvalidRequestException(field(PORT_RANGE), field(PORT_RANGE) + " must be FIRST-LAST within "
                    + Checks.LOWEST_HOST_PORT + "-65535, not '" + Names.excerpt(range) + "'");
        }
        String pool = properties.getOrDefault(POOL_SIZE, Integer.toString(DEFAULT_POOL_SIZE)).trim();
        if (!COUNT.matcher(pool).matches() || Integer.parseInt(pool) > MAX_POOL_SIZE) {
            throw new InvalidRequestException(field(POOL_SIZE), field(POOL_SIZE) + " must be a whole number from 0 to "
                    + MAX_POOL_SIZE + ", not '" + Names.excerpt(pool) + "'");
        }
        String endpoint = properties.getOrDefault(ENDPOINT_HOST, bindAddress).trim();
        if (!ENDPOINT.matcher(endpoint).matches()) {
            throw new InvalidRequestException(field(ENDPOINT_HOST), field(ENDPOINT_HOST) + " must be a host name or "
                    + "an IPv4 address, not '" + Names.excerpt(endpoint) + "'");
        }
        return new HostSettings(host.name(), first, last, Integer.parseInt(pool), endpoint);
    }

    static String field(String key) {
        return "properties." + key;
    }
}
