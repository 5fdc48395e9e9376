package org.servicefarm.driver.xapi.internal;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;

/**
 * What the xapi driver reads from a {@link HostRecord}, each value typed and bounded; unknown keys are refused. A
 * xapi host is a whole pool, where XAPI places each VM on one of its members as it places them for XenCenter; or one
 * member of a pool ({@value #MEMBER}), where the farm's placement chooses among the members as among other hosts.
 *
 * <table>
 * <caption>Driver properties ({@code hypervisor.*} keys of the host configuration)</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@value #MEMBER}</td><td>none: the whole pool</td><td>the pool member (its name label) every VM of the
 * host runs on</td></tr>
 * <tr><td>{@value #TEMPLATE}</td><td>{@value #DEFAULT_TEMPLATE}</td><td>the pool's template every VM is cloned
 * from (its platform settings)</td></tr>
 * <tr><td>{@value #NETWORK}</td><td>{@value #DEFAULT_NETWORK}</td><td>the network each VM's interface joins; the
 * farm's clients reach the guests' addresses on it</td></tr>
 * <tr><td>{@value #STORAGE}</td><td>the pool's default SR</td><td>the storage repository disks go to</td></tr>
 * <tr><td>{@value #ADDRESS_TIMEOUT}</td><td>{@value #DEFAULT_ADDRESS_TIMEOUT}</td><td>seconds a started guest may
 * take until its agent reports an address</td></tr>
 * </table>
 */
/** @param member the pool member every VM runs on, or "" for the whole pool */
record XapiHostSettings(URI pool, String member, String template, String network, String storage,
                        Duration addressTimeout) {

    static final String MEMBER = "member";
    static final String TEMPLATE = "template";
    static final String NETWORK = "network";
    static final String STORAGE = "storage";
    static final String ADDRESS_TIMEOUT = "addressTimeoutSeconds";
    static final String DEFAULT_TEMPLATE = "Other install media";
    static final String DEFAULT_NETWORK = "Pool-wide network associated with eth0";
    static final int DEFAULT_ADDRESS_TIMEOUT = 120;
    private static final Set<String> KNOWN = Set.of(MEMBER, TEMPLATE, NETWORK, STORAGE, ADDRESS_TIMEOUT);
    /** A label as XAPI shows it: printable ASCII, no quotes that a log reader could mistake for the end. */
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._()/:-]{0,127}");
    private static final Pattern SECONDS = Pattern.compile("[0-9]{1,4}");

    /**
     * @param pools the pool addresses the driver's configuration allows, each already {@link #poolAddress normal}
     * @throws InvalidRequestException naming the field, repeating no more than an excerpt of the value
     */
    static XapiHostSettings of(HostRecord host, Set<URI> pools) {
        URI pool;
        try {
            pool = poolAddress(host.uri());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("uri", e.getMessage());
        }
        if (!pools.contains(pool)) {
            throw new InvalidRequestException("uri", "'" + Names.excerpt(host.uri(), 80) + "' is not a pool this "
                    + "appliance's xapi driver may log in to (its pools setting)");
        }
        Map<String, String> properties = host.properties();
        for (String key : properties.keySet()) {
            if (!KNOWN.contains(key)) {
                throw new InvalidRequestException(field(key), field(key) + " is not a xapi driver setting; known: "
                        + new TreeSet<>(KNOWN).stream().map(XapiHostSettings::field).toList());
            }
        }
        String seconds = properties.getOrDefault(ADDRESS_TIMEOUT, Integer.toString(DEFAULT_ADDRESS_TIMEOUT)).trim();
        if (!SECONDS.matcher(seconds).matches() || Integer.parseInt(seconds) < 1) {
            throw new InvalidRequestException(field(ADDRESS_TIMEOUT), field(ADDRESS_TIMEOUT)
                    + " must be a whole number of seconds from 1 to 9999, not '" + Names.excerpt(seconds) + "'");
        }
        return new XapiHostSettings(pool, label(properties, MEMBER, ""), label(properties, TEMPLATE, DEFAULT_TEMPLATE),
                label(properties, NETWORK, DEFAULT_NETWORK), label(properties, STORAGE, ""),
                Duration.ofSeconds(Integer.parseInt(seconds)));
    }

    private static String label(Map<String, String> properties, String key, String fallback) {
        String value = properties.get(key);
        if (value == null) {
            return fallback;
        }
        if (!LABEL.matcher(value).matches()) {
            throw new InvalidRequestException(field(key), field(key) + " must be a name label of 1-128 letters, "
                    + "digits, spaces or ._()/:-, not '" + Names.excerpt(value) + "'");
        }
        return value;
    }

    private static String field(String key) {
        return "properties." + key;
    }

    /**
     * A pool's address as the driver compares it: {@code scheme://host:port}, lower-case, nothing else.
     *
     * @throws IllegalArgumentException for anything but https, or http to a loopback address
     */
    static URI poolAddress(String text) {
        URI uri;
        try {
            uri = new URI(text == null ? "" : text.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("a xapi pool is https://HOST[:PORT], not '" + Names.excerpt(text, 80)
                    + "'");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null || uri.getRawUserInfo() != null
                || uri.getRawQuery() != null || uri.getRawFragment() != null
                || !(uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
            throw new IllegalArgumentException("a xapi pool is https://HOST[:PORT] (no user, path or query), not '"
                    + Names.excerpt(text, 80) + "'");
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        if (scheme.equals("http") && !loopback(host)) {
            throw new IllegalArgumentException("a xapi pool off this machine is reached over https only (the farm's "
                    + "credentials travel with every login), not '" + Names.excerpt(text, 80) + "'");
        }
        int port = uri.getPort() == -1 ? (scheme.equals("https") ? 443 : 80) : uri.getPort();
        return URI.create(scheme + "://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host)
                + ":" + port);
    }

    /** A literal loopback address (no name lookup: a name could resolve elsewhere tomorrow). */
    private static boolean loopback(String host) {
        String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        if (!literal.matches("[0-9.]+|[0-9a-f:]+")) {
            return false;
        }
        try {
            return InetAddress.getByName(literal).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
