package org.servicefarm.dns.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.ServiceRequest;

/**
 * The grammar of the names the DNS front end answers, relative to its zone:
 *
 * <pre>
 * name        = "_" service "._tcp" *( "." label ) "." zone
 * label       = "v-" version | "os-" os | "server-" server | "runtime-" runtime | "patch-" patch
 *             | "sec-" securityLevel | "tier-" tier
 * </pre>
 *
 * Labels come in any order, each once but {@code patch-}, which may repeat; a field left out is filled in by the
 * directory as for any request. DNS labels cannot hold a '.', so inside a value '_' stands for '.':
 * {@code runtime-php-8_2} is runtime {@code php-8.2}. Names are case-insensitive, as DNS is: values are taken in
 * lower case. Every value then passes the API's {@link org.servicefarm.api.Names} grammar when the request is made, so
 * nothing from a query reaches the directory, a log or a hypervisor unchecked. Examples:
 * {@code _wiki._tcp.farm.local}, {@code _static-site._tcp.os-debian-12.server-httpd-2_4.sec-high.farm.local}.
 */
final class DnsNames {

    /** A query name split into what it asks for. */
    record Query(String service, ServiceRequest request) {
    }

    private DnsNames() {
    }

    /**
     * Parses {@code relative}, a name with the zone removed, in DNS presentation order (e.g.
     * {@code _wiki._tcp.os-debian-12}), for a request answered within {@code deadlineMs}.
     *
     * @throws InvalidRequestException when the name does not follow the grammar or a value is not a name
     */
    static Query parse(List<String> labels, long deadlineMs) {
        if (labels.size() < 2 || !labels.get(0).startsWith("_") || !labels.get(1).equalsIgnoreCase("_tcp")) {
            throw new InvalidRequestException("name", "a name is _<service>._tcp[.<label>...].<zone>");
        }
        String service = value(labels.get(0).substring(1));
        String version = null;
        String os = null;
        String server = null;
        String runtime = null;
        String security = null;
        String tier = null;
        List<String> patches = new ArrayList<>();
        for (String label : labels.subList(2, labels.size())) {
            String lower = label.toLowerCase(Locale.ROOT);
            int dash = lower.indexOf('-');
            if (dash < 1) {
                throw new InvalidRequestException("name", "a label is key-value, e.g. os-debian-12");
            }
            String key = lower.substring(0, dash);
            String value = value(lower.substring(dash + 1));
            switch (key) {
                case "v" -> version = once(key, version, value);
                case "os" -> os = once(key, os, value);
                case "server" -> server = once(key, server, value);
                case "runtime" -> runtime = once(key, runtime, value);
                case "sec" -> security = once(key, security, value);
                case "tier" -> tier = once(key, tier, value);
                case "patch" -> patches.add(value);
                default -> throw new InvalidRequestException("name", "unknown label key; use v, os, server, runtime, "
                        + "patch, sec or tier");
            }
        }
        return new Query(service, new ServiceRequest(service, version, new Environment(os, server, runtime, patches),
                security, tier, java.time.Duration.ofMillis(deadlineMs)));
    }

    /**
     * Whether {@code labels} (relative to the zone, not empty) name a proper ancestor of names the grammar accepts: one
     * of the zone's empty non-terminals, such as {@code _tcp} or {@code os-debian-12} (both above
     * {@code _wiki._tcp.os-debian-12}). Such a name exists with no data of its own: an NXDOMAIN for it would tell a
     * resolver that minimises its query names (RFC 9156) that nothing below it exists (RFC 8020).
     */
    static boolean isAncestor(List<String> labels) {
        List<String> below = new ArrayList<>(List.of("_x"));
        if (!labels.get(0).equalsIgnoreCase("_tcp")) {
            below.add("_tcp");
        }
        below.addAll(labels);
        try {
            parse(below, 1);
            return true;
        } catch (InvalidRequestException e) {
            return false;
        }
    }

    /**
     * The name, zone left out, that asks for {@code request} (its deadline aside: a DNS query has the server's):
     * the inverse of {@link #parse}.
     */
    static String name(ServiceRequest request) {
        StringBuilder name = new StringBuilder("_").append(label(request.service())).append("._tcp");
        label(name, "v", request.version());
        label(name, "os", request.environment().os());
        label(name, "server", request.environment().server());
        label(name, "runtime", request.environment().runtime());
        request.environment().patches().forEach(patch -> label(name, "patch", patch));
        label(name, "sec", request.securityLevel());
        label(name, "tier", request.tier());
        return name.toString();
    }

    private static void label(StringBuilder name, String key, String value) {
        if (value != null) {
            name.append('.').append(key).append('-').append(label(value));
        }
    }

    private static String label(String value) {
        return value.replace('.', '_');
    }

    private static String once(String key, String previous, String value) {
        if (previous != null) {
            throw new InvalidRequestException("name", "label " + key + " given twice");
        }
        return value;
    }

    /** A label's value as a name: lower case, '_' for '.'. */
    private static String value(String label) {
        return label.toLowerCase(Locale.ROOT).replace('_', '.');
    }
}
