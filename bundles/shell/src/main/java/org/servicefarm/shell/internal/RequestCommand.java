package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.suggest.Suggestions;

/**
 * farm:request: one call of {@link ServiceManager#request}, its outcome printed and told by the exit status too, so that
 * a script piping it into {@code bin/client -b} can tell a grant from an answer to wait for or one to give up on.
 */
@Command(scope = "farm", name = "request", description = "Asks for a service; prints where to reach it, "
        + "when to retry, or why it will never be available. Fields left out are chosen by the directory. "
        + "Exit status over bin/client or ssh: 0 GRANTED, 75 RETRY_LATER, 69 NEVER, 1 a refused request.")
@Service
public class RequestCommand extends RequestOptions {

    @Reference
    LocalServiceManager manager;

    @Option(name = "--deadline", description = "How many milliseconds to wait before answering RETRY_LATER")
    Long deadlineMs;

    @Option(name = "--retry-ticket", description = "The ticket a RETRY_LATER answer gave: this request is its retry, "
            + "not counted again as demand")
    String retryTicket;

    /** sysexits.h's EX_TEMPFAIL, "a temporary failure: the user is invited to retry". */
    static final int EXIT_RETRY_LATER = 75;
    /** sysexits.h's EX_UNAVAILABLE, "a service is unavailable". */
    static final int EXIT_NEVER = 69;

    PrintStream out = System.out;

    /**
     * @return the exit status, which Karaf's ssh server and {@code bin/client} hand on and its console does not print:
     *         0 for GRANTED, {@link #EXIT_RETRY_LATER} or {@link #EXIT_NEVER}
     * @throws CommandException for a malformed request: Karaf prints its message (the API's words, naming the
     *                          option) and the command fails (exit status 1 over ssh and bin/client)
     */
    @Override
    public Object execute() throws CommandException {
        ServiceRequest request = request("farm:request", deadlineMs);
        Outcome outcome;
        try {
            request = request.withRetryTicket(retryTicket);
            outcome = manager.request(request);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        }
        out.print(Formats.outcome(request, outcome, outcome instanceof Outcome.Never ? suggestions(request) : List.of()));
        if (outcome instanceof Outcome.Granted) {
            return 0;
        }
        return outcome instanceof Outcome.RetryLater ? EXIT_RETRY_LATER : EXIT_NEVER;
    }

    /** The nearest viable requests; the refusal is still printed, without them, should the directory fail. */
    private List<ServiceRequest> suggestions(ServiceRequest request) {
        try {
            return Suggestions.nearest(manager.directory(), request);
        } catch (RuntimeException e) {
            return List.of();
        }
    }
}
