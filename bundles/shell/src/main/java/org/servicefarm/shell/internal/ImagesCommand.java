package org.servicefarm.shell.internal;

import java.time.Instant;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.image.ImageService;

/** farm:images: the images the store holds, with their builds and use. */
@Command(scope = "farm", name = "images", description = "Lists the images the store holds or builds: state, "
        + "progress, size, use and the VMs running from each.")
@Service
public class ImagesCommand implements Action {

    @Reference
    ImageService images;

    @Override
    public Object execute() {
        Instant now = Instant.now();
        Tables.print(Formats.IMAGE_COLUMNS, images.images().stream().map(image -> Formats.imageRow(image, now))
                .toList(), "No images yet: farm:request or farm:build makes one.", System.out);
        return null;
    }
}
