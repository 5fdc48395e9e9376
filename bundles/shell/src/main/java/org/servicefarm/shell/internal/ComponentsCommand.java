package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.image.ImageService;

/** farm:components: the component repository images are built from. */
@Command(scope = "farm", name = "components", description = "Lists the components of the image store's repository: "
        + "what each provides and needs, and its size.")
@Service
public class ComponentsCommand implements Action {

    @Reference
    ImageService images;

    @Override
    public Object execute() {
        Tables.print(Formats.COMPONENT_COLUMNS, images.components().stream().map(Formats::componentRow).toList(),
                "No component repository: images are compositions only (see org.servicefarm.images.cfg).",
                System.out);
        return null;
    }
}
