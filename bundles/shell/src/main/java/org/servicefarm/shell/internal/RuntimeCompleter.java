package org.servicefarm.shell.internal;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.ServiceManager;

/** Completes language runtimes known to the service directory. */
@Service
public class RuntimeCompleter implements Completer {

    @Reference
    ServiceManager manager;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        return Completions.complete(Completions.names(manager.directory(), CatalogComponent.Kind.RUNTIME), session,
                commandLine, candidates);
    }
}
