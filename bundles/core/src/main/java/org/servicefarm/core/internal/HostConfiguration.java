package org.servicefarm.core.internal;

import java.util.HashMap;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One configured host: a factory configuration {@code etc/org.servicefarm.host-<name>.cfg}.
 * Each configuration becomes one instance of this component, which the {@link HostRegistry}
 * picks up. Keys starting with {@code hypervisor.} go to the driver without that prefix.
 * A configuration that breaks the rules of {@link HostRecord} does not activate: the log says which
 * key is wrong, and the host is not connected.
 */
@Component(service = HostConfiguration.class, configurationPid = HostConfiguration.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = HostConfiguration.Config.class, factory = true)
public class HostConfiguration {

    static final String FACTORY_PID = "org.servicefarm.host";
    static final String DRIVER_PREFIX = "hypervisor.";
    private static final Logger LOG = LoggerFactory.getLogger(HostConfiguration.class);

    @ObjectClassDefinition(name = "ServiceFarm host",
            description = "A host of the farm. Keys starting with 'hypervisor.' are settings for its driver, "
                    + "e.g. hypervisor.bootTimeMs for the libvirt driver.")
    public @interface Config {
        @AttributeDefinition(description = "Unique host name: letters, digits, '.', '_' and '-'.")
        String name();

        @AttributeDefinition(description = "The hypervisor driver that manages the host, e.g. libvirt.")
        String driver() default "libvirt";

        @AttributeDefinition(description = "The driver's address of the host, e.g. test:///path/host.xml or "
                + "qemu:///system.")
        String uri();

        @AttributeDefinition(name = "vCPUs", description = "Virtual CPUs the host can give to VMs.")
        int capacity_vcpus() default 8;

        @AttributeDefinition(name = "memory (MiB)", description = "Memory in MiB the host can give to VMs.")
        long capacity_memoryMiB() default 16384;

        @AttributeDefinition(name = "VMs", description = "The most VMs the host may hold at once.")
        int capacity_vms() default 8;

        @AttributeDefinition(name = "cost per hour", description = "What an hour of a VM on this host costs, "
                + "in the operator's currency; the cheapest placement strategy prefers low costs.")
        double costPerHour() default 1.0;

        @AttributeDefinition(name = "security zone", description = "The security zone the host stands in; "
                + "isolated security levels are placed only on hosts of their own zone.")
        String securityZone() default "standard";

        @AttributeDefinition(name = "speed", description = "How fast the host's CPUs are next to the farm's "
                + "reference host (1.0); placement strategies that prefer fast hosts (priority, weighted with speed) "
                + "read it.")
        double speed() default 1.0;
    }

    private HostRecord record;

    @Activate
    void activate(Config config, Map<String, Object> properties) {
        try {
            this.record = toRecord(config, properties);
        } catch (InvalidRequestException e) {
            LOG.error("Host configuration {} is refused and its host is not connected: {}{}",
                    Names.excerpt(String.valueOf(properties.get("service.pid")), 200),
                    e.field() == null ? "" : configKey(e.field()) + ": ", e.getMessage());
            throw e;
        }
    }

    /** The configuration key of a {@link HostRecord} field, e.g. {@code properties.bootTimeMs} -> {@code hypervisor.bootTimeMs}. */
    static String configKey(String field) {
        return field.startsWith("properties.") ? DRIVER_PREFIX + field.substring("properties.".length()) : field;
    }

    static HostRecord toRecord(Config config, Map<String, Object> properties) {
        Map<String, String> driverProperties = new HashMap<>();
        properties.forEach((key, value) -> {
            if (key.startsWith(DRIVER_PREFIX) && value != null) {
                driverProperties.put(key.substring(DRIVER_PREFIX.length()), String.valueOf(value));
            }
        });
        return new HostRecord(config.name(), config.driver(), config.uri(),
                new Capacity(config.capacity_vcpus(), config.capacity_memoryMiB(), config.capacity_vms()),
                config.costPerHour(), config.securityZone(), driverProperties, config.speed());
    }

    HostRecord record() {
        return record;
    }
}
