package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** farm:host-connect: one call of {@link ServiceManager#connect}, as {@code POST /api/v1/hosts/{name}/connect}. */
@Command(scope = "farm", name = "host-connect", description = "Connects a host now: one that could not be connected "
        + "(its hypervisor was down) is tried at once instead of at its next try, up to 5 minutes away; a connected "
        + "host is left as it is.")
@Service
public class HostConnectCommand extends HostArgument {

    @Override
    public Object execute() throws CommandException {
        HostStatus status;
        try {
            status = manager.connect(validHost());
        } catch (NotFoundException e) {
            throw Failures.failure("Invalid argument HOST: " + e.getMessage());
        }
        if (!status.connected()) {
            throw Failures.failure("Not connected: " + status.name()
                    + (status.detail() == null ? "" : ": " + status.detail()));
        }
        out.println(status.name() + " connected");
        return null;
    }
}
