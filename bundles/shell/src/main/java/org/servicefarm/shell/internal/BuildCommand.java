package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

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
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ImageService;

/** farm:build: one call of {@link ImageService#build}, then the build's progress followed until it ends. */
@Command(scope = "farm", name = "build", description = "Builds the image of a service ahead of demand and prints its "
        + "progress until it is ready or failed. Fields left out are chosen by the directory, as for farm:request.")
@Service
public class BuildCommand implements Action {

    @Reference
    ImageService images;

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

    @Option(name = "--tier", description = "The customer tier (as for farm:request; a build is the same for every tier)")
    String tier;

    @Option(name = "--deadline", description = "How many milliseconds to follow the build before leaving it to "
            + "finish in the background (default: until it is ready or failed)")
    Long deadlineMs;

    @Option(name = "--no-wait", description = "Start the build and return at once; farm:images shows its progress")
    boolean noWait;

    @Argument(index = 1, name = "TRAILING", description = "Nothing: options come before SERVICE, e.g. "
            + "farm:build --os debian-12 wiki", multiValued = true)
    List<String> trailing;

    PrintStream out = System.out;
    /** How often the build's progress is read while following it. */
    Duration poll = Duration.ofMillis(250);

    /**
     * @throws CommandException for a malformed request, a combination that is never viable, or a failed build:
     *                          Karaf prints its message and the command fails (exit status 1)
     */
    @Override
    public Object execute() throws CommandException {
        if (trailing != null && !trailing.isEmpty()) {
            throw Failures.trailing("farm:build", "SERVICE", trailing);
        }
        ServiceRequest request;
        BuildOutcome outcome;
        try {
            request = new ServiceRequest(service, version, new Environment(os, server, runtime, patches),
                    securityLevel, tier, deadlineMs == null ? null : Duration.ofMillis(deadlineMs));
            outcome = images.build(request);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, RequestCommand.OPTIONS);
        }
        if (outcome instanceof BuildOutcome.Never never) {
            throw Failures.failure("NEVER " + request.service() + ": " + never.reason());
        }
        BuildOutcome.Accepted accepted = (BuildOutcome.Accepted) outcome;
        out.print(Formats.buildAccepted(request, accepted));
        if (noWait) {
            return null;
        }
        Duration follow = request.deadline() == null ? Duration.ofDays(1) : request.deadline();
        BuildFollower.Result result = new BuildFollower(images, poll, out).follow(accepted.image(), follow);
        if (result == BuildFollower.Result.FAILED) {
            throw Failures.failure("the build of image " + accepted.image().id() + " failed (see above)");
        }
        return null;
    }
}
