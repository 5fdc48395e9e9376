package org.servicefarm.shell.internal;

import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.VmRecord;

/**
 * The VM lifecycle commands (farm:sleep, farm:archive, farm:wake, farm:destroy, farm:migrate): each one call of the
 * {@link ServiceManager}, printing the VM's state after it, or a plain refusal (no such VM, a state that allows no such
 * move now, a bad option), nothing changed.
 */
abstract class VmMoveCommand extends VmArgument {

    /** The move itself. */
    abstract VmRecord move() throws CommandException;

    @Override
    public Object execute() throws CommandException {
        VmRecord vm;
        try {
            vm = move();
        } catch (NotFoundException e) {
            throw Failures.failure("Invalid argument VM: " + e.getMessage());
        } catch (ConflictException e) {
            throw Failures.failure("Refused: " + e.getMessage());
        } catch (InvalidRequestException e) {
            throw Failures.invalid(e, java.util.Map.of("host", "HOST", "tier", "--tier"));
        }
        String archive = vm.archive() == null ? "" : " (" + vm.archive().tier() + ", " + vm.archive().bytes() + " bytes)";
        String detail = vm.detail() == null ? "" : ": " + vm.detail();
        // an archive's detail names its tier and bytes already ("archived by the operator (SAVED, 1014 bytes)")
        out.println(vm.id() + " on " + vm.hostId() + ": " + vm.state() + (detail.contains(archive) ? "" : archive)
                + detail);
        return null;
    }
}
