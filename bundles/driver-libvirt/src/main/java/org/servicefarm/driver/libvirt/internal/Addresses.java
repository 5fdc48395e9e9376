package org.servicefarm.driver.libvirt.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Host names and IP literals as the driver accepts them, and whether an address is this machine's.
 * The grammars are strict on purpose: what passes is read the same way by Java, libvirt, ssh and
 * the C library (no octal or hexadecimal IPv4 spellings, no zone ids, no leading '-').
 */
final class Addresses {

    /** A DNS label: letters, digits and inner '-'. */
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    /**
     * A fully written DNS name whose last label starts with a letter, so that no resolver reads it as a
     * numeric address (inet_aton accepts {@code 0x7f.1}, {@code 2130706433}, {@code 127.1}).
     */
    private static final Pattern DNS_NAME = Pattern.compile("(?:" + LABEL + "\\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?");
    /** A name put in endpoints: DNS-like labels, '_' allowed inside (host names of the farm may have it). */
    private static final Pattern ENDPOINT_NAME =
            Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV4 = Pattern.compile("(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
            + "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");
    private static final int MAX_NAME_LENGTH = 253;

    private Addresses() {
    }

    /** An IPv4 address in dotted-quad form without leading zeros, or an IPv6 address (no brackets, no zone id). */
    static Optional<InetAddress> ipLiteral(String text) {
        if (text == null) {
            return Optional.empty();
        }
        boolean v4 = IPV4.matcher(text).matches();
        if (!v4 && !(text.indexOf(':') >= 0 && IPV6.matcher(text).matches())) {
            return Optional.empty();
        }
        try {
            // Literals only: Java checks their form and looks nothing up (brackets make sure for IPv6).
            return Optional.of(InetAddress.getByName(v4 ? text : "[" + text + "]"));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    /** A DNS name no resolver can mistake for a number: labels of letters, digits and '-', the last starting with a letter. */
    static boolean dnsName(String text) {
        return text != null && text.length() <= MAX_NAME_LENGTH && DNS_NAME.matcher(text).matches();
    }

    /** A name or address to put in endpoints: a name of labels (letters, digits, inner '-' and '_') or an IP literal. */
    static boolean endpointHost(String text) {
        return text != null && text.length() <= MAX_NAME_LENGTH
                && (ENDPOINT_NAME.matcher(text).matches() || ipLiteral(text).isPresent());
    }

    /**
     * True when the address is this machine: loopback, the any-local address, or an address of one of its
     * network interfaces (an IPv4-compatible IPv6 address is judged by its IPv4 part). When the interfaces
     * cannot be read, the answer is true: the caller refuses rather than guesses.
     */
    static boolean isThisMachine(InetAddress address) {
        if (address.isLoopbackAddress() || address.isAnyLocalAddress()) {
            return true;
        }
        if (address instanceof Inet6Address v6 && v6.isIPv4CompatibleAddress()) {
            byte[] bytes = v6.getAddress();
            try {
                return isThisMachine(InetAddress.getByAddress(java.util.Arrays.copyOfRange(bytes, 12, 16)));
            } catch (UnknownHostException e) {
                return true;
            }
        }
        try {
            return NetworkInterface.getByInetAddress(address) != null;
        } catch (SocketException e) {
            return true;
        }
    }

    /** True when {@code name} is {@code localhost}, a {@code .localhost} name or this machine's own host name. */
    static boolean namesThisMachine(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".")) {
            lower = lower.substring(0, lower.length() - 1);
        }
        if (lower.equals("localhost") || lower.endsWith(".localhost")) {
            return true;
        }
        try {
            InetAddress local = InetAddress.getLocalHost();
            String own = local.getHostName().toLowerCase(Locale.ROOT);
            String canonical = local.getCanonicalHostName().toLowerCase(Locale.ROOT);
            return lower.equals(own) || lower.equals(canonical)
                    || (own.indexOf('.') > 0 && lower.equals(own.substring(0, own.indexOf('.'))));
        } catch (UnknownHostException e) {
            return false; // this machine's name does not resolve: the address check below still applies
        }
    }
}
