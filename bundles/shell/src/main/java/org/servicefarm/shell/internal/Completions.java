package org.servicefarm.shell.internal;

import java.util.List;
import java.util.TreeSet;

import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.DirectoryView;

/** Completion candidates from the service directory, shared by the completers. */
final class Completions {

    private Completions() {
    }

    /** The distinct names of the directory's components of one kind, sorted. */
    static List<String> names(DirectoryView directory, CatalogComponent.Kind kind) {
        TreeSet<String> names = new TreeSet<>();
        for (CatalogComponent component : directory.components()) {
            if (component.kind() == kind) {
                names.add(component.name());
            }
        }
        return List.copyOf(names);
    }

    static int complete(List<String> names, Session session, CommandLine commandLine, List<String> candidates) {
        return new StringsCompleter(names).complete(session, commandLine, candidates);
    }
}
