package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;

/** A candidate combination the directory checks against its rules. */
record Combination(String app, String version, String os, String server, String runtime, TreeSet<String> patches,
                   String security) {

    List<CatalogComponent> components(Kind kind) {
        return switch (kind) {
            case APPLICATION -> List.of(new CatalogComponent(kind, app, version));
            case OS -> List.of(new CatalogComponent(kind, os, null));
            case SERVER -> List.of(new CatalogComponent(kind, server, null));
            case RUNTIME -> List.of(new CatalogComponent(kind, runtime, null));
            case SECURITY -> List.of(new CatalogComponent(kind, security, null));
            case PATCH -> {
                List<CatalogComponent> list = new ArrayList<>();
                patches.forEach(p -> list.add(new CatalogComponent(kind, p, null)));
                yield list;
            }
        };
    }

    Combination withPatch(String patch) {
        TreeSet<String> more = new TreeSet<>(patches);
        more.add(patch);
        return new Combination(app, version, os, server, runtime, more, security);
    }

    Offering toOffering() {
        return new Offering(app, version, new Environment(os, server, runtime, List.copyOf(patches)), security);
    }
}
