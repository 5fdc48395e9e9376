package org.servicefarm.shell.internal;

import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.servicefarm.api.frontend.DirectoryFrontEnd;

/** farm:frontends: the directory front ends that run (REST, DNS, ...) and where clients reach them. */
@Command(scope = "farm", name = "frontends", description = "Lists the directory front ends and their addresses.")
@Service
public class FrontendsCommand implements Action {

    @Reference
    BundleContext context;

    @Override
    public Object execute() throws InvalidSyntaxException {
        Tables.print(List.of("Name", "Address"), frontEnds(context), "No front ends run.", System.out);
        return null;
    }

    /** Each registered front end's name and address, by name (what {@code GET /api/v1/status} lists). */
    static List<List<String>> frontEnds(BundleContext context) throws InvalidSyntaxException {
        List<List<String>> rows = new ArrayList<>();
        for (ServiceReference<DirectoryFrontEnd> reference : context.getServiceReferences(DirectoryFrontEnd.class, null)) {
            DirectoryFrontEnd frontEnd = context.getService(reference);
            if (frontEnd == null) {
                continue;
            }
            try {
                Object name = reference.getProperty(DirectoryFrontEnd.NAME);
                rows.add(List.of(name == null ? "?" : name.toString(), frontEnd.address()));
            } finally {
                context.ungetService(reference);
            }
        }
        rows.sort(java.util.Comparator.comparing(row -> row.get(0)));
        return rows;
    }
}
