package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.suggest.Suggestions;

/** farm:request: one call of {@link ServiceManager#request}, its outcome printed. */
@Command(scope = "farm", name = "request", description = "Asks for a service; prints where to reach it, "
        + "when to retry, or why it will never be available. Fields left out are chosen by the directory.")
@Service
public class RequestCommand extends RequestOptions {

    @Reference
    ServiceManager manager;

    @Option(name = "--deadline", description = "How many milliseconds to wait before answering RETRY_LATER")
    Long deadlineMs;

    @Option(name = "--retry-ticket", description = "The ticket a RETRY_LATER answer gave: this request is its retry, "
            + "not counted again as demand")
    String retryTicket;

    PrintStream out = System.out;

    /**
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
        return null;
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
