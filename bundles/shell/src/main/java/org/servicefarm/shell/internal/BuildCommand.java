package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Duration;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ImageService;

/** farm:build: one call of {@link ImageService#build}, then the build's progress followed until it ends. */
@Command(scope = "farm", name = "build", description = "Builds the image of a service ahead of demand and prints its "
        + "progress until it is ready or failed. Fields left out are chosen by the directory, as for farm:request.")
@Service
public class BuildCommand extends RequestOptions {

    @Reference
    ImageService images;

    @Option(name = "--deadline", description = "How many milliseconds to follow the build before leaving it to "
            + "finish in the background (default: until it is ready or failed)")
    Long deadlineMs;

    @Option(name = "--no-wait", description = "Start the build and return at once; farm:images shows its progress")
    boolean noWait;

    PrintStream out = System.out;
    /** How often the build's progress is read while following it. */
    Duration poll = Duration.ofMillis(250);

    /**
     * @throws CommandException for a malformed request, a combination that is never viable, or a failed build:
     *                          Karaf prints its message and the command fails (exit status 1)
     */
    @Override
    public Object execute() throws CommandException {
        ServiceRequest request = request("farm:build", deadlineMs);
        BuildOutcome outcome;
        try {
            outcome = images.build(request);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, OPTIONS);
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
