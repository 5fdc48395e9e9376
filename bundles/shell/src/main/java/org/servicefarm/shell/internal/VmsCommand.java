package org.servicefarm.shell.internal;

import java.time.Instant;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.ServiceManager;

/** farm:vms: the state table. */
@Command(scope = "farm", name = "vms", description = "Lists every VM the farm knows, with its state and endpoint.")
@Service
public class VmsCommand implements Action {

    @Reference
    ServiceManager manager;

    @Override
    public Object execute() {
        Instant now = Instant.now();
        Tables.print(Formats.VM_COLUMNS,
                manager.stateTable().vms().stream().map(vm -> Formats.vmRow(vm, now)).toList(),
                "No VMs yet: farm:request creates one.", System.out);
        return null;
    }
}
