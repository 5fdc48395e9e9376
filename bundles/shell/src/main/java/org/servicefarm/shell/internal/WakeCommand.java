package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.VmRecord;

/** farm:wake: {@link org.servicefarm.api.ServiceManager#wake}. */
@Command(scope = "farm", name = "wake", description = "Wakes a SLEEPING (resume) or ARCHIVED (restore) VM and waits "
        + "until it serves.")
@Service
public class WakeCommand extends VmMoveCommand {
    @Override
    VmRecord move() {
        return manager.wake(vmId);
    }
}
