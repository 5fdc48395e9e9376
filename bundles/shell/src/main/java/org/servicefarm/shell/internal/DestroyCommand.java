package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.VmRecord;

/** farm:destroy: {@link org.servicefarm.api.ServiceManager#destroy}. */
@Command(scope = "farm", name = "destroy", description = "Destroys a VM: stopped, undefined, its archive deleted.")
@Service
public class DestroyCommand extends VmMoveCommand {
    @Override
    VmRecord move() {
        return manager.destroy(vmId);
    }
}
