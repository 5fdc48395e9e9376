package org.servicefarm.shell.internal;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.LocalServiceManager;

/** farm:rules: the directory's compatibility rules and security levels ({@code GET /api/v1/catalog/rules}). */
@Command(scope = "farm", name = "rules", description = "Lists the directory's compatibility rules (what a "
        + "combination must satisfy to be viable) and its security levels.")
@Service
public class RulesCommand implements Action {

    @Reference
    LocalServiceManager manager;

    PrintStream out = System.out;

    @Override
    public Object execute() {
        DirectoryView directory = manager.directory();
        out.println("Security levels: " + (directory.securityLevels().isEmpty() ? "none"
                : String.join(", ", directory.securityLevels())));
        out.println(directory.rules().isEmpty() ? "No rules: every combination of the catalog is viable." : "Rules:");
        directory.rules().forEach(rule -> out.println("  " + rule));
        return null;
    }
}
