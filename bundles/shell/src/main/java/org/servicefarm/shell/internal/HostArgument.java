package org.servicefarm.shell.internal;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Names;

/** What the commands about one host (farm:host, farm:drain, farm:undrain, farm:host-remove, farm:host-connect) share. */
abstract class HostArgument implements Action {

    @Reference
    LocalServiceManager manager;

    @Argument(index = 0, name = "HOST", description = "The host's name (farm:hosts lists them)", required = true)
    @Completion(FarmCompleter.class)
    String host;

    PrintStream out = System.out;

    /** The host's name as given, checked to be a host name before it is passed on. */
    String validHost() throws CommandException {
        if (!HostRecord.validName(host)) {
            throw Failures.failure("Invalid argument HOST: '" + Names.excerpt(host) + "' is not a host name");
        }
        return host;
    }
}
