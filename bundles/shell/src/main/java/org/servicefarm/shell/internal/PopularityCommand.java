package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.image.ImageService;

/** farm:popularity: requests per offering over the popularity window. */
@Command(scope = "farm", name = "popularity", description = "Lists requests per offering over the popularity window, "
        + "and the image built ahead of demand for those that reached the threshold.")
@Service
public class PopularityCommand implements Action {

    @Reference
    ImageService images;

    @Override
    public Object execute() {
        Tables.print(Formats.DEMAND_COLUMNS, images.popularity().stream().map(Formats::demandRow).toList(),
                "No requests within the window.", System.out);
        return null;
    }
}
