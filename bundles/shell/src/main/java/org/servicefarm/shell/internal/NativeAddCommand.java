package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.ServiceManager;

/**
 * farm:native-add: one call of {@link ServiceManager#registerNative}, as {@code POST /api/v1/natives}: a service a host
 * runs itself, with the whole offering it runs. Checked before anything is saved; a refusal names the option.
 */
@Command(scope = "farm", name = "native-add", description = "Adds a service a host runs itself, without a VM: "
        + "requests for its offering are granted its address and port while it answers there. Saved as a "
        + "configuration (kept across restarts). Name every field of the offering; options come before SERVICE.")
@Service
public class NativeAddCommand extends RequestOptions {

    /** The option or argument of each field a refusal names. */
    static final Map<String, String> OPTIONS;

    static {
        Map<String, String> options = new HashMap<>(RequestOptions.OPTIONS);
        options.putAll(Map.of("name", "--name", "host", "--host", "address", "--address", "port", "--port",
                "securityZone", "--security-zone"));
        OPTIONS = Map.copyOf(options);
    }

    @Reference
    LocalServiceManager manager;

    @Option(name = "--name", description = "What to call it, unique: letters, digits, '.', '_' and '-' (required)")
    String name;

    @Option(name = "--host", description = "The host that runs it (required; it need not be a host of the farm's "
            + "hypervisors, whose names are completed)")
    @Completion(FarmCompleter.class)
    String host;

    @Option(name = "--address", description = "Where clients reach it: the host's DNS name or IP address (required)")
    String address;

    @Option(name = "--port", description = "The TCP port the service listens on (required)")
    Integer port;

    @Option(name = "--security-zone", description = "The security zone the host stands in (default standard)")
    @Completion(FarmCompleter.class)
    String securityZone;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        if (trailing != null && !trailing.isEmpty()) {
            throw Failures.trailing("farm:native-add", "SERVICE", trailing);
        }
        if (tier != null) {
            throw Failures.failure("Invalid option --tier: a service a host runs itself serves every tier");
        }
        NativeServiceStatus added;
        try {
            Offering offering = Offering.of(service, version, new Environment(os, server, runtime, patches),
                    securityLevel == null ? "standard" : securityLevel);
            added = manager.registerNative(NativeService.of(name, host, address, port, securityZone, offering));
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        } catch (ConflictException e) {
            throw Failures.failure("Refused: " + e.getMessage());
        }
        out.println("ADDED " + added.service() + " at " + added.service().endpoint()
                + (added.answering() ? ", answering" : ", not answering yet"
                + (added.detail() == null ? "" : ": " + added.detail())));
        return null;
    }
}
