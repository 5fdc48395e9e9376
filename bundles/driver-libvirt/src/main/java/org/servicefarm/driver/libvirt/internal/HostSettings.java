package org.servicefarm.driver.libvirt.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;

/**
 * What the libvirt driver reads from a {@link HostRecord}: which kind of hypervisor its URI names (checked by
 * the {@link HostRules}) and the driver properties ({@code hypervisor.*} keys of the host configuration, prefix
 * stripped), each typed and bounded. Unknown keys are refused.
 *
 * <table>
 * <caption>Driver properties</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@value #BOOT_TIME_MS}</td><td>0</td><td>test-driver hosts: milliseconds a simulated guest takes after
 * its start before its services answer ({@link SimulatedHost}), standing in for a boot: 0 to
 * {@value #MAX_WAIT_MS}</td></tr>
 * <tr><td>{@value #RESTORE_TIME_MS}</td><td>0</td><td>the same after a restore</td></tr>
 * <tr><td>{@value #ENDPOINT_HOST}</td><td>the forward address, {@code 127.0.0.1} when that is a wildcard</td><td>the
 * host name or IP address put in endpoints: where clients connect to the forwarded ports (never the farm's name for
 * the host; set it for a remote host)</td></tr>
 * <tr><td>{@value #PORT_RANGE}</td><td>{@value #DEFAULT_PORT_RANGE}</td><td>host ports endpoints are allocated
 * from, FIRST-LAST within 1024-65535; on this machine's hosts a port something else holds is skipped</td></tr>
 * <tr><td>{@value #FORWARD_ADDRESS}</td><td>{@value #DEFAULT_FORWARD_ADDRESS}</td><td>the IP address the allocated
 * ports are forwarded from: by QEMU's user-mode network, or by the simulated guests of a test-driver host (an IP
 * literal: it goes into a QEMU option)</td></tr>
 * <tr><td>{@value #STAGING_POOL}</td><td>{@value #DEFAULT_STAGING_POOL}</td><td>the libvirt storage pool images are
 * staged into; created as a {@code dir} pool when the host has none of that name</td></tr>
 * <tr><td>{@value #GUEST_LABEL}</td><td>{@value #DEFAULT_GUEST_LABEL}</td><td>QEMU hosts: the user and group QEMU
 * runs a guest as ({@code user:group}, names or {@code +uid:+gid}), put in a static DAC seclabel without relabelling:
 * the staged volumes are read as they are</td></tr>
 * <tr><td>{@value #STAGING_DIRECTORY}</td><td>{@value #DEFAULT_STAGING_DIRECTORY}</td><td>the directory on the host
 * that a pool the driver creates keeps its volumes in: an absolute path</td></tr>
 * </table>
 */
record HostSettings(String hostName, Kind kind, String libvirtUri, boolean local, long bootTimeMs,
                    long restoreTimeMs, String endpointHost, PortAllocator ports, String forwardAddress,
                    String stagingPool, String stagingDirectory, String guestLabel) {

    static final String BOOT_TIME_MS = "bootTimeMs";
    static final String RESTORE_TIME_MS = "restoreTimeMs";
    static final String ENDPOINT_HOST = "endpointHost";
    static final String PORT_RANGE = "portRange";
    static final String FORWARD_ADDRESS = "forwardAddress";
    static final String STAGING_POOL = "stagingPool";
    static final String STAGING_DIRECTORY = "stagingDirectory";
    static final String GUEST_LABEL = "guestLabel";
    static final String DEFAULT_GUEST_LABEL = "libvirt-qemu:libvirt-qemu";
    static final String DEFAULT_STAGING_POOL = "servicefarm";
    static final String DEFAULT_STAGING_DIRECTORY = "/var/lib/libvirt/images/servicefarm";
    static final String DEFAULT_PORT_RANGE = "20000-20999";
    static final String DEFAULT_FORWARD_ADDRESS = "127.0.0.1";
    /** The longest simulated boot or restore: ten minutes. */
    static final long MAX_WAIT_MS = 600_000;

    private static final Set<String> KNOWN_KEYS =
            Set.of(BOOT_TIME_MS, RESTORE_TIME_MS, ENDPOINT_HOST, PORT_RANGE, FORWARD_ADDRESS, STAGING_POOL,
                    STAGING_DIRECTORY, GUEST_LABEL);
    private static final Pattern MILLIS = Pattern.compile("[0-9]{1,7}");
    /** user:group, each a name as useradd takes it or +number. */
    private static final Pattern LABEL = Pattern.compile("([a-z_][a-z0-9_-]{0,31}|\\+[0-9]{1,9}):([a-z_][a-z0-9_-]{0,31}|\\+[0-9]{1,9})");
    private static final Pattern POOL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Absolute, segments of letters, digits, '.', '_', '+' and '-': nothing a shell, URI or XML reads twice. */
    private static final Pattern DIRECTORY = Pattern.compile("(/[A-Za-z0-9._+-]+)+/?");

    /** The hypervisor behind a libvirt URI: it decides the domain XML. */
    enum Kind {
        /** libvirt's in-process test driver: {@code <domain type='test'>}, no guest bits. */
        TEST,
        /** QEMU through libvirtd: {@code <domain type='qemu'>} booting the image's kernel and initrd. */
        QEMU
    }

    /**
     * Reads and checks a host's URI (against {@code rules}) and driver properties, connecting to nothing.
     *
     * @throws InvalidRequestException naming the field ({@code uri}, {@code properties.<key>}) without repeating
     *                                 more than an excerpt of its value
     */
    static HostSettings of(HostRecord host, HostRules rules) {
        Map<String, String> properties = host.properties();
        for (String key : properties.keySet()) {
            if (!KNOWN_KEYS.contains(key)) {
                throw new InvalidRequestException(field(key), field(key) + " is not a libvirt driver setting; known: "
                        + new TreeSet<>(KNOWN_KEYS).stream().map(HostSettings::field).toList());
            }
        }
        HostRules.Target target = rules.check(host.uri());
        long bootTime = millis(properties, BOOT_TIME_MS);
        long restoreTime = millis(properties, RESTORE_TIME_MS);
        String forward = forwardAddress(properties.getOrDefault(FORWARD_ADDRESS, DEFAULT_FORWARD_ADDRESS).trim());
        InetAddress forwardFrom = Addresses.ipLiteral(unbracketed(forward)).orElseThrow();
        String endpointHost = forwardFrom.isAnyLocalAddress() ? DEFAULT_FORWARD_ADDRESS : unbracketed(forward);
        if (properties.containsKey(ENDPOINT_HOST)) {
            endpointHost = properties.get(ENDPOINT_HOST).trim();
            if (!Addresses.endpointHost(endpointHost)) {
                throw new InvalidRequestException(field(ENDPOINT_HOST), field(ENDPOINT_HOST) + " must be a host "
                        + "name (labels of letters, digits, '-' and '_' separated by '.') or an IP address, not '"
                        + Names.excerpt(endpointHost) + "'");
            }
        }
        PortAllocator ports = PortAllocator.parse(properties.getOrDefault(PORT_RANGE, DEFAULT_PORT_RANGE),
                field(PORT_RANGE));
        String pool = properties.getOrDefault(STAGING_POOL, DEFAULT_STAGING_POOL).trim();
        if (!POOL_NAME.matcher(pool).matches()) {
            throw new InvalidRequestException(field(STAGING_POOL), field(STAGING_POOL) + " must be 1-64 letters, digits, "
                    + "'.', '_' or '-', starting with a letter or digit, not '" + Names.excerpt(pool) + "'");
        }
        String directory = properties.getOrDefault(STAGING_DIRECTORY, DEFAULT_STAGING_DIRECTORY).trim();
        if (!DIRECTORY.matcher(directory).matches() || List.of(directory.split("/")).contains("..")
                || List.of(directory.split("/")).contains(".")) {
            throw new InvalidRequestException(field(STAGING_DIRECTORY), field(STAGING_DIRECTORY) + " must be an "
                    + "absolute path of letters, digits, '.', '_', '+' and '-' without '.' or '..' segments, not '"
                    + Names.excerpt(directory) + "'");
        }
        String label = properties.getOrDefault(GUEST_LABEL, DEFAULT_GUEST_LABEL).trim();
        if (!LABEL.matcher(label).matches()) {
            throw new InvalidRequestException(field(GUEST_LABEL), field(GUEST_LABEL) + " must be user:group (names "
                    + "of lowercase letters, digits, '_' and '-', or +uid:+gid), not '" + Names.excerpt(label) + "'");
        }
        return new HostSettings(host.name(), target.kind(), target.libvirtUri(), target.local(), bootTime, restoreTime,
                endpointHost, ports, forward, pool, directory, label);
    }

    /** The URI as messages and logs show it: without user info, control characters escaped. */
    String shownUri() {
        return LibvirtErrors.shown(libvirtUri);
    }

    /** The host record's field of a driver property, e.g. {@code properties.bootTimeMs}. */
    static String field(String key) {
        return "properties." + key;
    }

    /** The address the guests' ports are forwarded from. */
    InetAddress forwardInetAddress() {
        return Addresses.ipLiteral(unbracketed(forwardAddress)).orElseThrow();
    }

    /**
     * Whether {@code port} can be forwarded: on this machine's hosts, nothing on the forward address holds it (a port
     * of a remote host cannot be checked from here).
     */
    boolean portFree(int port) {
        return !local || PortAllocator.bindable(new java.net.InetSocketAddress(forwardInetAddress(), port));
    }

    private static String unbracketed(String text) {
        return text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    }

    /** An IP literal as QEMU's hostfwd option takes it: IPv6 in brackets. */
    private static String forwardAddress(String text) {
        String bare = unbracketed(text);
        InetAddress address = Addresses.ipLiteral(bare).orElseThrow(() -> new InvalidRequestException(
                field(FORWARD_ADDRESS), field(FORWARD_ADDRESS) + " must be an IP address (it goes into a QEMU option), "
                + "not '" + Names.excerpt(text) + "'"));
        return address instanceof Inet6Address ? "[" + bare + "]" : bare;
    }

    private static long millis(Map<String, String> properties, String key) {
        String text = properties.get(key);
        if (text == null || text.isBlank()) {
            return 0;
        }
        String trimmed = text.trim();
        if (!MILLIS.matcher(trimmed).matches() || Long.parseLong(trimmed) > MAX_WAIT_MS) {
            throw new InvalidRequestException(field(key), field(key) + " must be a whole number of milliseconds from "
                    + "0 to " + MAX_WAIT_MS + ", not '" + Names.excerpt(text) + "'");
        }
        return Long.parseLong(trimmed);
    }
}
