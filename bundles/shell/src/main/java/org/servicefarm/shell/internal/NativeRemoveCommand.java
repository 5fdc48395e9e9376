package org.servicefarm.shell.internal;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.ServiceManager;

/** farm:native-remove: one call of {@link ServiceManager#unregisterNative}, as {@code DELETE /api/v1/natives/{name}}. */
@Command(scope = "farm", name = "native-remove", description = "Removes a service a host runs itself (farm:natives "
        + "lists them); its configuration is deleted, so it does not come back after a restart.")
@Service
public class NativeRemoveCommand implements Action {

    @Reference
    LocalServiceManager manager;

    @Argument(index = 0, name = "NAME", description = "Its name (farm:natives lists them)", required = true)
    String name;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        try {
            manager.unregisterNative(name);
        } catch (NotFoundException e) {
            throw Failures.failure("Invalid argument NAME: " + e.getMessage());
        }
        out.println(name + " removed");
        return null;
    }
}
