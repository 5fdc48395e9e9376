package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.ServiceManager;

/** farm:offerings: viable combinations from the directory. */
@Command(scope = "farm", name = "offerings", description = "Lists viable offerings; each can be asked for "
        + "with farm:request and its fields.")
@Service
public class OfferingsCommand implements Action {

    static final int MAX_LIMIT = 1000;

    @Reference
    ServiceManager manager;

    @Option(name = "--limit", description = "How many offerings to list, 1 to 1000 (default 50)")
    int limit = 50;

    @Override
    public Object execute() {
        if (limit < 1 || limit > MAX_LIMIT) {
            System.err.println("Invalid limit: " + limit + "; give 1 to " + MAX_LIMIT);
            return null;
        }
        Tables.print(Formats.OFFERING_COLUMNS,
                manager.directory().offerings(limit).stream().map(Formats::offeringRow).toList(),
                "No viable offerings: check the catalog configuration.", System.out);
        return null;
    }
}
