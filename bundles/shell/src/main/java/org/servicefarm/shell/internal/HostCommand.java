package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Names;
import org.servicefarm.api.ServiceManager;

/** farm:host: one host of {@link ServiceManager#hosts}, as {@code GET /api/v1/hosts/{name}} answers it. */
@Command(scope = "farm", name = "host", description = "Shows one host: its driver and address, capacity, use, cost, "
        + "zone, connection, drain and driver health.")
@Service
public class HostCommand extends HostArgument {

    @Override
    public Object execute() throws CommandException {
        HostStatus status = manager.hosts().stream().filter(h -> h.name().equals(host)).findFirst()
                .orElseThrow(() -> Failures.failure("Invalid argument HOST: no host named " + Names.excerpt(host)));
        out.print(Formats.host(status));
        return null;
    }
}
