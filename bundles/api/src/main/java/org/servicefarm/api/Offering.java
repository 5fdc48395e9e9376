package org.servicefarm.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A viable, fully resolved combination: what a VM offers and what a request resolves to.
 * Its {@link #key()} names it in the state table, the popularity tracker and the image store.
 */
public record Offering(String service, String version, Environment environment, String securityLevel) {

    public Offering {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(environment, "environment");
        Objects.requireNonNull(securityLevel, "securityLevel");
        if (!environment.complete()) {
            throw new IllegalArgumentException("an offering needs a complete environment: " + environment);
        }
    }

    /**
     * An offering named field by field by a person (a native service's configuration, a REST body, a shell command),
     * not resolved by the directory: each field left out is refused by its name, as a request names it ({@code
     * service}, {@code version}, {@code environment.os}, {@code environment.server}, {@code environment.runtime},
     * {@code securityLevel}).
     *
     * @throws InvalidRequestException naming the field left out or outside the name grammar
     * @since 1.10
     */
    public static Offering of(String service, String version, Environment environment, String securityLevel) {
        Names.required("service", service);
        Names.required("version", version);
        Names.required("environment.os", environment.os());
        Names.required("environment.server", environment.server());
        Names.required("environment.runtime", environment.runtime());
        Names.required("securityLevel", securityLevel);
        return new Offering(service, version, environment, securityLevel);
    }

    /** A stable, human-readable key, e.g. {@code wiki@2.1/debian-12/httpd-2.4/php-8.2+cve-1[high]}. */
    public String key() {
        return service + "@" + version + "/" + environment + "[" + securityLevel + "]";
    }

    /** The request that asks for exactly this offering. */
    public ServiceRequest toRequest() {
        return new ServiceRequest(service, version, environment, securityLevel, null, null);
    }

    /**
     * The fields of this offering the directory chose because {@code request} left them out, in
     * the order of a request body: version, os, server, runtime, patches (when patches were added
     * to those asked for), securityLevel.
     */
    public List<String> filledIn(ServiceRequest request) {
        List<String> filled = new ArrayList<>();
        Environment asked = request.environment();
        if (request.version() == null) filled.add("version");
        if (asked.os() == null) filled.add("os");
        if (asked.server() == null) filled.add("server");
        if (asked.runtime() == null) filled.add("runtime");
        if (environment.patches().size() > asked.patches().size()) filled.add("patches");
        if (request.securityLevel() == null) filled.add("securityLevel");
        return filled;
    }

    @Override
    public String toString() {
        return key();
    }
}
