package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Duration;
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
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;

/** farm:request: one call of {@link ServiceManager#request}, its outcome printed. */
@Command(scope = "farm", name = "request", description = "Asks for a service; prints where to reach it, "
        + "when to retry, or why it will never be available. Fields left out are chosen by the directory.")
@Service
public class RequestCommand implements Action {

    @Reference
    ServiceManager manager;

    @Argument(index = 0, name = "SERVICE", description = "The application, e.g. wiki", required = true)
    @Completion(ApplicationCompleter.class)
    String service;

    @Option(name = "--version", description = "The application version (default: the newest viable one)")
    String version;

    @Option(name = "--os", description = "The operating system")
    @Completion(OsCompleter.class)
    String os;

    @Option(name = "--server", description = "The server software")
    @Completion(ServerCompleter.class)
    String server;

    @Option(name = "--runtime", description = "The language runtime")
    @Completion(RuntimeCompleter.class)
    String runtime;

    @Option(name = "--patch", description = "A patch to apply; repeat for several", multiValued = true)
    @Completion(PatchCompleter.class)
    List<String> patches;

    @Option(name = "--security-level", description = "The security level")
    @Completion(SecurityLevelCompleter.class)
    String securityLevel;

    @Option(name = "--tier", description = "The customer tier")
    String tier;

    @Option(name = "--deadline", description = "How many milliseconds to wait before answering RETRY_LATER")
    Long deadlineMs;

    @Argument(index = 1, name = "TRAILING", description = "Nothing: options come before SERVICE, e.g. "
            + "farm:request --tier standard wiki", multiValued = true)
    List<String> trailing;

    /** The option or argument of each request field, as {@link InvalidRequestException#field()} names it. */
    static final Map<String, String> OPTIONS = Map.of("service", "SERVICE", "version", "--version",
            "environment.os", "--os", "environment.server", "--server", "environment.runtime", "--runtime",
            "environment.patches", "--patch", "securityLevel", "--security-level", "tier", "--tier",
            "deadlineMs", "--deadline");

    PrintStream out = System.out;

    /**
     * @throws CommandException for a malformed request: Karaf prints its message (the API's words, naming the
     *                          option) and the command fails (exit status 1 over ssh and bin/client)
     */
    @Override
    public Object execute() throws CommandException {
        ServiceRequest request = request("farm:request");
        Outcome outcome;
        try {
            outcome = manager.request(request);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        }
        out.print(Formats.outcome(request, outcome));
        return null;
    }

    /** The request the options and SERVICE name; {@code command} names the command in refusals. */
    ServiceRequest request(String command) throws CommandException {
        if (trailing != null && !trailing.isEmpty()) {
            throw Failures.trailing(command, "SERVICE", trailing);
        }
        try {
            return new ServiceRequest(service, version, new Environment(os, server, runtime, patches),
                    securityLevel, tier, deadlineMs == null ? null : Duration.ofMillis(deadlineMs));
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        }
    }
}
