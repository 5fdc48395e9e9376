package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** farm:host-remove: one call of {@link ServiceManager#unregisterHost}, as {@code DELETE /api/v1/hosts/{name}}. */
@Command(scope = "farm", name = "host-remove", description = "Removes a host that runs no VM (farm:drain moves its "
        + "VMs away first); its configuration is deleted, so it does not come back after a restart.")
@Service
public class HostRemoveCommand extends HostArgument {

    @Override
    public Object execute() throws CommandException {
        try {
            manager.unregisterHost(validHost());
        } catch (NotFoundException e) {
            throw Failures.failure("Invalid argument HOST: " + e.getMessage());
        } catch (ConflictException e) {
            throw Failures.failure("Refused: " + e.getMessage());
        }
        out.println(host + " removed");
        return null;
    }
}
