package org.servicefarm.shell.internal;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;

/**
 * farm:explain: one call of {@link ServiceManager#explain}, with farm:request's options (but no deadline): what the
 * manager would do and how it would choose the host, nothing done.
 */
@Command(scope = "farm", name = "explain", description = "Says what farm:request with the same options would do "
        + "now (reuse, wake or create a VM; the filters that removed hosts, the best candidates with their scores, "
        + "the choice), without doing anything.")
@Service
public class ExplainCommand extends RequestOptions {

    @Reference
    LocalServiceManager manager;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        ServiceRequest request = request("farm:explain", null);
        Explanation explanation;
        try {
            explanation = manager.explain(request);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
        }
        out.print(Formats.explanation(request, explanation));
        return null;
    }
}
