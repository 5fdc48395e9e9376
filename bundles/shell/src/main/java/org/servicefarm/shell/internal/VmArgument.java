package org.servicefarm.shell.internal;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.servicefarm.api.LocalServiceManager;

/** What the commands about one VM (farm:vm and the lifecycle moves) share: the manager and the VM argument. */
abstract class VmArgument implements Action {

    @Reference
    LocalServiceManager manager;

    @Argument(index = 0, name = "VM", description = "The VM's id (farm:vms lists them)", required = true)
    @Completion(FarmCompleter.class)
    String vmId;

    PrintStream out = System.out;
}
