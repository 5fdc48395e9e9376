package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Names;
import org.servicefarm.api.ServiceManager;

/**
 * farm:host-add: one call of {@link ServiceManager#registerHost}, as {@code POST /api/v1/hosts}: the record is checked
 * by {@link HostRecord} and by its driver before anything is saved; any refusal names the option and changes nothing.
 */
@Command(scope = "farm", name = "host-add", description = "Adds a host at run time: its driver checks it, then it is "
        + "saved as a configuration (kept across restarts) and connected. Options come before NAME.")
@Service
public class HostAddCommand implements Action {

    /** The option or argument of each field {@link HostRecord} names in a refusal. */
    static final Map<String, String> OPTIONS = Map.of("name", "NAME", "driver", "--driver", "uri", "--uri",
            "capacity.vcpus", "--vcpus", "capacity.memoryMiB", "--memory-mib", "capacity.vms", "--vms",
            "costPerHour", "--cost-per-hour", "securityZone", "--security-zone", "speed", "--speed",
            "properties", "--property");

    @Reference
    LocalServiceManager manager;

    @Argument(index = 0, name = "NAME", description = "The new host's name: letters, digits, '.', '_' and '-', "
            + "starting with a letter or digit", required = true)
    String name;

    @Option(name = "--driver", description = "The hypervisor driver that manages it, e.g. libvirt (required)")
    @Completion(FarmCompleter.class)
    String driver;

    @Option(name = "--uri", description = "The driver's address for it, e.g. qemu:///system or "
            + "test:///path/host.xml (required)")
    String uri;

    @Option(name = "--vcpus", description = "How many vCPUs it offers (required)")
    Integer vcpus;

    @Option(name = "--memory-mib", description = "How much memory it offers, in MiB (required)")
    Long memoryMiB;

    @Option(name = "--vms", description = "How many VMs it holds at most (required)")
    Integer vms;

    @Option(name = "--cost-per-hour", description = "What an hour of a VM on it costs (default 0)")
    double costPerHour;

    @Option(name = "--security-zone", description = "The security zone it stands in (default standard)")
    @Completion(FarmCompleter.class)
    String securityZone;

    @Option(name = "--speed", description = "How fast its CPUs are next to the farm's reference host (default 1)")
    double speed = HostRecord.DEFAULT_SPEED;

    @Option(name = "--property", description = "A driver setting as KEY=VALUE, e.g. portRange=23000-23099; repeat "
            + "for several", multiValued = true)
    List<String> properties;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        HostStatus added;
        try {
            HostRecord host = new HostRecord(name, driver, uri, new Capacity(required("capacity.vcpus", vcpus),
                    required("capacity.memoryMiB", memoryMiB), required("capacity.vms", vms)), costPerHour,
                    securityZone, properties(), speed);
            added = manager.registerHost(host);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        } catch (ConflictException e) {
            throw Failures.failure("Refused: " + e.getMessage());
        }
        out.print("ADDED " + Formats.host(added));
        return null;
    }

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new InvalidRequestException(field, field + " is required");
        }
        return value;
    }

    /** The --property options as a map; HostRecord bounds the keys and values. */
    private Map<String, String> properties() {
        Map<String, String> map = new LinkedHashMap<>();
        for (String property : properties == null ? List.<String>of() : properties) {
            int eq = property.indexOf('=');
            if (eq < 1) {
                throw new InvalidRequestException("properties", "'" + Names.excerpt(property)
                        + "' is not KEY=VALUE");
            }
            String key = property.substring(0, eq);
            if (map.put(key, property.substring(eq + 1)) != null) {
                throw new InvalidRequestException("properties", "properties." + Names.excerpt(key)
                        + " is given twice");
            }
        }
        return map;
    }
}
