package org.servicefarm.api;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * A host of the farm as configured: which driver manages it, where, what it can hold, what an
 * hour of it costs and which security zone it stands in.
 * <p>
 * Every field is bounded here, where a host enters the API (a REST body, a shell command, a
 * configuration file), so nothing downstream sees an unbounded or unprintable value. What a
 * {@code uri} and the {@code properties} may say beyond that is the driver's to decide
 * ({@link org.servicefarm.api.driver.HypervisorDriver#validate}).
 *
 * @param name         unique host name (regardless of case): letters, digits, '.', '_' and '-', at most 63
 *                     characters, starting with a letter or digit
 * @param driver       the {@link org.servicefarm.api.driver.HypervisorDriver} name, e.g. {@code libvirt}
 * @param uri          the driver's address for it, e.g. {@code test:///...} or {@code qemu:///system}: printable
 *                     ASCII, at most {@value #MAX_URI_LENGTH} characters
 * @param capacity     what the host can hold: 1 to {@value #MAX_VCPUS} vCPUs, 1 to {@value #MAX_MEMORY_MIB} MiB,
 *                     1 to {@value #MAX_VMS} VMs
 * @param costPerHour  what an hour of a VM on it costs, in the operator's currency: 0 to {@value #MAX_COST_PER_HOUR}
 * @param securityZone the zone it stands in (see the directory's security levels): a {@link Names name};
 *                     {@code standard} when left out
 * @param speed        how fast its CPUs are next to the farm's reference host (1): from {@value #MIN_SPEED} to
 *                     {@value #MAX_SPEED}; placement strategies that prefer fast hosts read it
 * @param properties   driver-specific settings, e.g. a simulated boot time: at most {@value #MAX_PROPERTIES},
 *                     keys of letters, digits, '.', '_' and '-' (starting with a letter, at most
 *                     {@value #MAX_PROPERTY_KEY_LENGTH}), values of printable ASCII (at most
 *                     {@value #MAX_PROPERTY_VALUE_LENGTH})
 */
public record HostRecord(String name, String driver, String uri, Capacity capacity, double costPerHour,
                         String securityZone, Map<String, String> properties, double speed) {

    public static final int MAX_URI_LENGTH = 1024;
    public static final int MAX_VCPUS = 4096;
    public static final long MAX_MEMORY_MIB = 64L * 1024 * 1024;
    public static final int MAX_VMS = 10_000;
    public static final double MAX_COST_PER_HOUR = 1_000_000;
    public static final int MAX_PROPERTIES = 32;
    public static final int MAX_PROPERTY_KEY_LENGTH = 64;
    public static final int MAX_PROPERTY_VALUE_LENGTH = 256;
    public static final double MIN_SPEED = 0.01;
    public static final double MAX_SPEED = 1000;
    /** The speed of a host that names none: the farm's reference. */
    public static final double DEFAULT_SPEED = 1.0;
    /** The security zone of a host that names none. */
    public static final String DEFAULT_SECURITY_ZONE = "standard";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern PROPERTY_KEY =
            Pattern.compile("[A-Za-z][A-Za-z0-9._-]{0," + (MAX_PROPERTY_KEY_LENGTH - 1) + "}");

    /**
     * @throws InvalidRequestException naming the offending field ({@code name}, {@code driver}, {@code uri},
     *                                 {@code capacity.vcpus}, {@code costPerHour}, {@code securityZone}, {@code speed},
     *                                 {@code properties.<key>} ...), without repeating the value at length
     */
    public HostRecord {
        if (name == null || name.isBlank()) {
            throw new InvalidRequestException("name", "name is required");
        }
        if (!NAME.matcher(name).matches()) {
            throw new InvalidRequestException("name", "name must be 1-63 letters, digits, '.', '_' or '-', starting "
                    + "with a letter or digit, not '" + Names.excerpt(name) + "'");
        }
        Names.required("driver", driver);
        if (uri == null || uri.isBlank()) {
            throw new InvalidRequestException("uri", "uri is required");
        }
        if (uri.length() > MAX_URI_LENGTH) {
            throw new InvalidRequestException("uri", "uri must be at most " + MAX_URI_LENGTH + " characters, not "
                    + uri.length());
        }
        if (!printableAscii(uri)) {
            throw new InvalidRequestException("uri", "uri must hold printable ASCII characters only (no control "
                    + "characters; percent-encode the others): '" + Names.excerpt(uri) + "'");
        }
        if (capacity == null) {
            throw new InvalidRequestException("capacity", "capacity is required");
        }
        bounded("capacity.vcpus", capacity.vcpus(), MAX_VCPUS);
        bounded("capacity.memoryMiB", capacity.memoryMiB(), MAX_MEMORY_MIB);
        bounded("capacity.vms", capacity.vms(), MAX_VMS);
        if (!(costPerHour >= 0 && costPerHour <= MAX_COST_PER_HOUR)) { // also false for NaN
            throw new InvalidRequestException("costPerHour", "costPerHour must be a number from 0 to "
                    + (long) MAX_COST_PER_HOUR + ", not " + costPerHour);
        }
        securityZone = securityZone == null || securityZone.isBlank() ? DEFAULT_SECURITY_ZONE
                : Names.optional("securityZone", securityZone);
        properties = properties == null ? Map.of() : checkProperties(properties);
        if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) { // also false for NaN
            throw new InvalidRequestException("speed", "speed must be a number from " + MIN_SPEED + " to "
                    + (long) MAX_SPEED + ", not " + speed);
        }
    }

    /** A host of the reference speed ({@value #DEFAULT_SPEED}). */
    public HostRecord(String name, String driver, String uri, Capacity capacity, double costPerHour,
                      String securityZone, Map<String, String> properties) {
        this(name, driver, uri, capacity, costPerHour, securityZone, properties, DEFAULT_SPEED);
    }

    /** True when {@code name} is acceptable as a host name. */
    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    private static void bounded(String field, long value, long max) {
        if (value < 1 || value > max) {
            throw new InvalidRequestException(field, field + " must be from 1 to " + max + ", not " + value);
        }
    }

    private static Map<String, String> checkProperties(Map<String, String> properties) {
        if (properties.size() > MAX_PROPERTIES) {
            throw new InvalidRequestException("properties", "properties may hold at most " + MAX_PROPERTIES
                    + " settings, not " + properties.size());
        }
        for (Map.Entry<String, String> entry : properties.entrySet()) {
            String key = entry.getKey();
            if (key == null || !PROPERTY_KEY.matcher(key).matches()) {
                throw new InvalidRequestException("properties", "property names must be 1-" + MAX_PROPERTY_KEY_LENGTH
                        + " letters, digits, '.', '_' or '-', starting with a letter, not '" + Names.excerpt(key) + "'");
            }
            String field = "properties." + key;
            String value = entry.getValue();
            if (value == null) {
                throw new InvalidRequestException(field, field + " has no value");
            }
            if (value.length() > MAX_PROPERTY_VALUE_LENGTH) {
                throw new InvalidRequestException(field, field + " must be at most " + MAX_PROPERTY_VALUE_LENGTH
                        + " characters, not " + value.length());
            }
            if (!printableAscii(value)) {
                throw new InvalidRequestException(field, field + " must hold printable ASCII characters only, not '"
                        + Names.excerpt(value) + "'");
            }
        }
        return Map.copyOf(properties);
    }

    /** True when every character is printable ASCII (space to '~'): no control character, nothing invisible. */
    private static boolean printableAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
