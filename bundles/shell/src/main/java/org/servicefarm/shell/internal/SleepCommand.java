package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.VmRecord;

/** farm:sleep: {@link org.servicefarm.api.ServiceManager#sleep}. */
@Command(scope = "farm", name = "sleep", description = "Puts an ACTIVE VM to sleep (suspended in memory).")
@Service
public class SleepCommand extends VmMoveCommand {
    @Override
    VmRecord move() {
        return manager.sleep(vmId);
    }
}
