package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Instant;
import java.util.Map;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Names;
import org.servicefarm.api.VmState;

/** farm:vms: the state table, of one state or host if asked. */
@Command(scope = "farm", name = "vms", description = "Lists every VM the farm knows (of one state or host if asked), "
        + "with its state and endpoint.")
@Service
public class VmsCommand implements Action {

    @Option(name = "--state", description = "Only VMs in this state, e.g. SLEEPING")
    @Completion(value = StringsCompleter.class, values = {"CREATING", "STARTING", "ACTIVE", "SUSPENDING", "SLEEPING",
            "RESUMING", "ARCHIVING", "ARCHIVED", "RESTORING", "DESTROYING", "DESTROYED", "FAILED"})
    String state;

    @Option(name = "--host", description = "Only VMs on this host")
    @Completion(FarmCompleter.class)
    String host;

    @Reference
    LocalServiceManager manager;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        VmState only;
        try {
            only = Names.constant(VmState.class, "state", "VM state", state);
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, Map.of("state", "--state"));
        }
        VmState wanted = only;
        Instant now = Instant.now();
        Tables.print(Formats.VM_COLUMNS, manager.stateTable().vms().stream()
                        .filter(vm -> wanted == null || vm.state() == wanted)
                        .filter(vm -> host == null || host.equals(vm.hostId()))
                        .map(vm -> Formats.vmRow(vm, now)).toList(),
                state == null && host == null ? "No VMs yet: farm:request creates one." : "No such VMs.", out);
        return null;
    }
}
