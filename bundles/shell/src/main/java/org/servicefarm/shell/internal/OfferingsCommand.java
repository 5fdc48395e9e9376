package org.servicefarm.shell.internal;

import java.util.Map;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;

/** farm:offerings: viable combinations from the directory. */
@Command(scope = "farm", name = "offerings", description = "Lists viable offerings; each can be asked for "
        + "with farm:request and its fields.")
@Service
public class OfferingsCommand implements Action {

    static final int MAX_LIMIT = 1000;

    @Reference
    LocalServiceManager manager;

    @Option(name = "--limit", description = "How many offerings to list, 1 to 1000 (default 50)")
    int limit = 50;

    /** @throws CommandException for a limit out of range: printed by Karaf, and the command fails */
    @Override
    public Object execute() throws CommandException {
        try {
            if (limit < 1 || limit > MAX_LIMIT) {
                // the REST API's words for the same mistake
                throw new InvalidRequestException("limit", "limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
            }
            Tables.print(Formats.OFFERING_COLUMNS,
                    manager.directory().offerings(limit).stream().map(Formats::offeringRow).toList(),
                    "No viable offerings: check the catalog configuration.", System.out);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, Map.of("limit", "--limit"));
        }
        return null;
    }
}
