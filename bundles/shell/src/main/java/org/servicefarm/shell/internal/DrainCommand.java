package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** farm:drain: one call of {@link ServiceManager#drain}; no new VM is placed on the host, its VMs move away. */
@Command(scope = "farm", name = "drain", description = "Drains a host: no new VM is placed there, and the lifecycle "
        + "moves its VMs to other hosts (archived, restored there on their next request). farm:undrain undoes it.")
@Service
public class DrainCommand extends HostArgument {

    /** Whether this command drains (farm:drain) or undrains (farm:undrain). */
    boolean drains() {
        return true;
    }

    @Override
    public Object execute() throws CommandException {
        HostStatus status;
        try {
            status = manager.drain(host, drains());
        } catch (NotFoundException e) {
            throw Failures.failure("Invalid argument HOST: " + e.getMessage());
        } catch (IllegalStateException e) { // the store could not keep it: nothing changed
            throw Failures.failure("Not done: " + e.getMessage());
        }
        out.println(status.name() + (status.drained() ? " drained: no new VM is placed there; its "
                + status.used().vms() + " VM(s) are moved away" : " undrained: it takes new VMs again"));
        return null;
    }
}
