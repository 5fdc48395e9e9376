package org.servicefarm.shell.internal;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.ServiceRequest;

/**
 * The argument and options of a command that asks for a service (farm:request, farm:build): the fields of a
 * {@link ServiceRequest}. Karaf reads options and arguments declared here as the subclass's own.
 */
abstract class RequestOptions implements Action {

    @Argument(index = 0, name = "SERVICE", description = "The application, e.g. wiki", required = true)
    @Completion(FarmCompleter.class)
    String service;

    @Option(name = "--version", description = "The application version (default: the newest viable one)")
    String version;

    @Option(name = "--os", description = "The operating system")
    @Completion(FarmCompleter.class)
    String os;

    @Option(name = "--server", description = "The server software")
    @Completion(FarmCompleter.class)
    String server;

    @Option(name = "--runtime", description = "The language runtime")
    @Completion(FarmCompleter.class)
    String runtime;

    @Option(name = "--patch", description = "A patch to apply; repeat for several", multiValued = true)
    @Completion(FarmCompleter.class)
    List<String> patches;

    @Option(name = "--security-level", description = "The security level")
    @Completion(FarmCompleter.class)
    String securityLevel;

    @Option(name = "--tier", description = "The customer tier")
    String tier;

    @Argument(index = 1, name = "TRAILING", description = "Nothing: options come before SERVICE, e.g. "
            + "--os debian-12 wiki", multiValued = true)
    List<String> trailing;

    /** The option or argument of each request field, as {@link InvalidRequestException#field()} names it. */
    static final Map<String, String> OPTIONS = Map.of("service", "SERVICE", "version", "--version",
            "environment.os", "--os", "environment.server", "--server", "environment.runtime", "--runtime",
            "environment.patches", "--patch", "securityLevel", "--security-level", "tier", "--tier",
            "deadlineMs", "--deadline", "retryTicket", "--retry-ticket");

    /**
     * The request these options make.
     *
     * @throws CommandException for words after SERVICE, or a field the API refuses (naming the option)
     */
    ServiceRequest request(String command, Long deadlineMs) throws CommandException {
        if (trailing != null && !trailing.isEmpty()) {
            throw Failures.trailing(command, "SERVICE", trailing);
        }
        try {
            return new ServiceRequest(service, version, new Environment(os, server, runtime, patches), securityLevel,
                    tier, deadlineMs == null ? null : Duration.ofMillis(deadlineMs));
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        }
    }
}
