package org.servicefarm.driver.libvirt.internal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.servicefarm.api.HostRecord;
import org.servicefarm.api.driver.HypervisorException;

/**
 * What the libvirt driver reads from a {@link HostRecord}: which kind of hypervisor its URI names and
 * the driver properties ({@code hypervisor.*} keys of the host configuration, prefix stripped).
 *
 * <table>
 * <caption>Driver properties</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@value #BOOT_TIME_MS}</td><td>0</td><td>milliseconds {@code start()} waits after libvirt started the
 * domain, standing in for a guest's boot on test-driver hosts</td></tr>
 * <tr><td>{@value #RESTORE_TIME_MS}</td><td>0</td><td>the same for {@code restore()}</td></tr>
 * <tr><td>{@value #ENDPOINT_HOST}</td><td>the host's name</td><td>host name or address put in endpoints</td></tr>
 * <tr><td>{@value #PORT_RANGE}</td><td>{@value #DEFAULT_PORT_RANGE}</td><td>host ports endpoints are allocated
 * from, FIRST-LAST; hosts on one machine need disjoint ranges</td></tr>
 * <tr><td>{@value #FORWARD_ADDRESS}</td><td>{@value #DEFAULT_FORWARD_ADDRESS}</td><td>QEMU hosts: the address
 * QEMU's user-mode network forwards the allocated ports from</td></tr>
 * </table>
 */
record HostSettings(String hostName, Kind kind, String libvirtUri, long bootTimeMs, long restoreTimeMs,
                    String endpointHost, PortAllocator ports, String forwardAddress) {

    static final String BOOT_TIME_MS = "bootTimeMs";
    static final String RESTORE_TIME_MS = "restoreTimeMs";
    static final String ENDPOINT_HOST = "endpointHost";
    static final String PORT_RANGE = "portRange";
    static final String FORWARD_ADDRESS = "forwardAddress";
    static final String DEFAULT_PORT_RANGE = "20000-20999";
    static final String DEFAULT_FORWARD_ADDRESS = "127.0.0.1";

    private static final Set<String> KNOWN_KEYS =
            Set.of(BOOT_TIME_MS, RESTORE_TIME_MS, ENDPOINT_HOST, PORT_RANGE, FORWARD_ADDRESS);
    private static final Pattern SCHEME = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*):(.*)", Pattern.DOTALL);
    private static final Set<String> QEMU_SCHEMES = Set.of("qemu", "qemu+unix", "qemu+ssh", "qemu+tcp", "qemu+tls");
    /** Goes into a QEMU option string where ',' and '=' separate fields: only address characters pass. */
    private static final Pattern FORWARD_ADDRESS_SYNTAX = Pattern.compile("[A-Za-z0-9.:-]{1,253}");
    private static final Pattern ENDPOINT_HOST_SYNTAX = Pattern.compile("[A-Za-z0-9.:_-]{1,253}");

    /** The hypervisor behind a libvirt URI: it decides the domain XML. */
    enum Kind {
        /** libvirt's in-process test driver: {@code <domain type='test'>}, no guest bits. */
        TEST,
        /** QEMU through libvirtd: {@code <domain type='qemu'>} booting the image's kernel and initrd. */
        QEMU
    }

    /**
     * Reads and checks a host's URI and driver properties.
     *
     * @throws HypervisorException with a message naming the host and the offending value
     */
    static HostSettings of(HostRecord host) throws HypervisorException {
        String name = host.name();
        Map<String, String> properties = host.properties();
        for (String key : properties.keySet()) {
            if (!KNOWN_KEYS.contains(key)) {
                throw new HypervisorException("host " + name + ": unknown libvirt driver property 'hypervisor." + key
                        + "'; known: " + KNOWN_KEYS);
            }
        }
        var matcher = SCHEME.matcher(host.uri().trim());
        if (!matcher.matches()) {
            throw new HypervisorException("host " + name + ": '" + host.uri() + "' is not a libvirt URI");
        }
        String scheme = matcher.group(1).toLowerCase(java.util.Locale.ROOT);
        Kind kind;
        String libvirtUri;
        if (scheme.equals("test")) {
            kind = Kind.TEST;
            libvirtUri = testUri(name, matcher.group(2));
        } else if (QEMU_SCHEMES.contains(scheme)) {
            kind = Kind.QEMU;
            libvirtUri = host.uri().trim();
        } else {
            throw new HypervisorException("host " + name + ": unknown URI scheme '" + scheme + "' in '" + host.uri()
                    + "'; the libvirt driver supports test:///<node XML file> and qemu:///system (also "
                    + "qemu+ssh, qemu+tcp, qemu+tls, qemu+unix)");
        }
        long bootTime = millis(properties, BOOT_TIME_MS, name);
        long restoreTime = millis(properties, RESTORE_TIME_MS, name);
        String endpointHost = properties.getOrDefault(ENDPOINT_HOST, name).trim();
        if (!ENDPOINT_HOST_SYNTAX.matcher(endpointHost).matches()) {
            throw new HypervisorException("host " + name + ": endpointHost '" + endpointHost
                    + "' must be a host name or an IP address");
        }
        PortAllocator ports = PortAllocator.parse(properties.getOrDefault(PORT_RANGE, DEFAULT_PORT_RANGE),
                "host " + name);
        String forward = properties.getOrDefault(FORWARD_ADDRESS, DEFAULT_FORWARD_ADDRESS).trim();
        if (!FORWARD_ADDRESS_SYNTAX.matcher(forward).matches()) {
            throw new HypervisorException("host " + name + ": forwardAddress '" + forward
                    + "' must be an IP address or host name");
        }
        return new HostSettings(name, kind, libvirtUri, bootTime, restoreTime, endpointHost, ports, forward);
    }

    /**
     * {@code test:///default} or {@code test:///<absolute path of a node XML file>}. Extra slashes before the
     * path are dropped, because the shipped configurations write {@code test:///${karaf.etc}/...} and
     * {@code karaf.etc} is itself absolute.
     */
    private static String testUri(String hostName, String rest) throws HypervisorException {
        if (!rest.startsWith("//")) {
            throw new HypervisorException("host " + hostName + ": test URI must be test:///default or "
                    + "test:///<absolute path of a node XML file>, not 'test:" + rest + "'");
        }
        String afterSlashes = rest.substring(2);
        if (!afterSlashes.startsWith("/")) {
            throw new HypervisorException("host " + hostName + ": remote test driver URIs are not supported: 'test:"
                    + rest + "'; use test:///<absolute path of a node XML file>");
        }
        String path = "/" + afterSlashes.replaceFirst("^/+", "");
        if (path.equals("/default")) {
            return "test:///default";
        }
        Path file = Path.of(path);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new HypervisorException("host " + hostName + ": test driver node file " + file
                    + " does not exist or is not readable");
        }
        return "test://" + percentEncodePath(file.toAbsolutePath().normalize().toString());
    }

    /** libvirt unescapes the path of a URI: escape what a URI path cannot carry as is (spaces, '%', '#', '?'). */
    static String percentEncodePath(String path) {
        StringBuilder out = new StringBuilder(path.length());
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "/._~-+=,:@".indexOf(c) >= 0;
            if (plain) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static long millis(Map<String, String> properties, String key, String hostName)
            throws HypervisorException {
        String text = properties.get(key);
        if (text == null || text.isBlank()) {
            return 0;
        }
        try {
            long value = Long.parseLong(text.trim());
            if (value < 0 || value > 3_600_000) {
                throw new NumberFormatException("out of range");
            }
            return value;
        } catch (NumberFormatException e) {
            throw new HypervisorException("host " + hostName + ": " + key + " '" + text
                    + "' must be a whole number of milliseconds from 0 to 3600000", e);
        }
    }
}
