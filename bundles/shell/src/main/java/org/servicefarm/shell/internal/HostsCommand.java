package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.LocalServiceManager;

/** farm:hosts: the configured hosts with their use. */
@Command(scope = "farm", name = "hosts", description = "Lists the hosts with capacity, use, cost and connection.")
@Service
public class HostsCommand implements Action {

    @Reference
    LocalServiceManager manager;

    @Override
    public Object execute() {
        Tables.print(Formats.HOST_COLUMNS, manager.hosts().stream().map(Formats::hostRow).toList(),
                "No hosts configured.", System.out);
        return null;
    }
}
