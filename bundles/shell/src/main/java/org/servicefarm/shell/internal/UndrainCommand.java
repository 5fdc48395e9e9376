package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** farm:undrain: the host takes new VMs again. */
@Command(scope = "farm", name = "undrain", description = "Undrains a host: it takes new VMs again.")
@Service
public class UndrainCommand extends DrainCommand {

    @Override
    boolean drains() {
        return false;
    }
}
