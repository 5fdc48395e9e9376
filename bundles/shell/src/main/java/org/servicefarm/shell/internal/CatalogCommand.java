package org.servicefarm.shell.internal;

import java.util.List;
import java.util.Objects;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.LocalServiceManager;

/** farm:catalog: the directory's components ({@code GET /api/v1/catalog/components}). */
@Command(scope = "farm", name = "catalog", description = "Lists every component the service directory knows: "
        + "applications with their versions, operating systems, servers, runtimes and patches (farm:rules says how "
        + "they combine).")
@Service
public class CatalogCommand implements Action {

    @Reference
    LocalServiceManager manager;

    @Override
    public Object execute() {
        Tables.print(List.of("Kind", "Name", "Version"), manager.directory().components().stream()
                        .map(c -> List.of(c.kind().name(), c.name(), Objects.toString(c.version(), "-"))).toList(),
                "The catalog is empty: check the catalog configuration.", System.out);
        return null;
    }
}
