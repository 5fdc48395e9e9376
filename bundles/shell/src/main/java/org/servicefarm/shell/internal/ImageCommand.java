package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Instant;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Names;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;

/** farm:image: one image of {@link ImageService#image} and its build, as {@code GET /api/v1/images/{id}}. */
@Command(scope = "farm", name = "image", description = "Shows one image: its state, offering, build progress, size, "
        + "components and use.")
@Service
public class ImageCommand implements Action {

    @Reference
    ImageService images;

    @Argument(index = 0, name = "IMAGE", description = "The image's id (farm:images lists them)", required = true)
    @Completion(FarmCompleter.class)
    String id;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        ImageStatus image = images.image(id)
                .orElseThrow(() -> Failures.failure("Invalid argument IMAGE: no image with id " + Names.excerpt(id)));
        out.print(Formats.image(image, Instant.now()));
        return null;
    }
}
