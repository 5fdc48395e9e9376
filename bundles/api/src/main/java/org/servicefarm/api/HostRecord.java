package org.servicefarm.api;

import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A host of the farm as configured: which driver manages it, where, what it can hold, what an
 * hour of it costs and which security zone it stands in.
 *
 * @param name         unique host name: letters, digits, '.', '_' and '-', at most 63 characters
 * @param driver       the {@link org.servicefarm.api.driver.HypervisorDriver} name, e.g. {@code libvirt}
 * @param uri          the driver's address for it, e.g. {@code test:///...} or {@code qemu:///system}
 * @param capacity     what the host can hold
 * @param costPerHour  what an hour of a VM on it costs, in the operator's currency
 * @param securityZone the zone it stands in (see the directory's security levels)
 * @param properties   driver-specific settings, e.g. a simulated boot time
 */
public record HostRecord(String name, String driver, String uri, Capacity capacity, double costPerHour,
                         String securityZone, Map<String, String> properties) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public HostRecord {
        Objects.requireNonNull(capacity, "capacity");
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidRequestException("host name must be 1-63 letters, digits, '.', '_' or '-', starting "
                    + "with a letter or digit: " + name);
        }
        if (driver == null || driver.isBlank()) {
            throw new InvalidRequestException("host " + name + " names no driver");
        }
        if (uri == null || uri.isBlank()) {
            throw new InvalidRequestException("host " + name + " has no uri");
        }
        if (!(costPerHour >= 0) || Double.isInfinite(costPerHour)) {
            throw new InvalidRequestException("host " + name + " cost per hour must be a non-negative number");
        }
        securityZone = securityZone == null || securityZone.isBlank() ? "standard" : securityZone;
        properties = properties == null ? Map.of() : Map.copyOf(properties);
    }

    /** True when {@code name} is acceptable as a host name. */
    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
