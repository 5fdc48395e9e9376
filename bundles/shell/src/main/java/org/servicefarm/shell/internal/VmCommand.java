package org.servicefarm.shell.internal;

import java.time.Instant;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Names;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.VmRecord;

/** farm:vm: one row of the state table ({@link ServiceManager#stateTable}), as {@code GET /api/v1/vms/{id}}. */
@Command(scope = "farm", name = "vm", description = "Shows one VM: its state and host, offering, image, endpoints, "
        + "use, archive and last note.")
@Service
public class VmCommand extends VmArgument {

    @Override
    public Object execute() throws CommandException {
        VmRecord vm = manager.stateTable().vm(vmId)
                .orElseThrow(() -> Failures.failure("Invalid argument VM: no VM with id " + Names.excerpt(vmId)));
        out.print(Formats.vm(vm, Instant.now()));
        return null;
    }
}
