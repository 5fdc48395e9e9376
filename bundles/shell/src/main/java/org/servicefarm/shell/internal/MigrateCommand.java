package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.VmRecord;

/** farm:migrate: {@link org.servicefarm.api.ServiceManager#migrate}. */
@Command(scope = "farm", name = "migrate", description = "Moves a VM to another host: archived first if it is in "
        + "memory, it arrives ARCHIVED and the next request restores it there.")
@Service
public class MigrateCommand extends VmMoveCommand {

    @Argument(index = 1, name = "HOST", description = "The host to move it to; placement chooses when left out")
    @Completion(FarmCompleter.class)
    String host;

    @Override
    VmRecord move() {
        return manager.migrate(vmId, host);
    }
}
