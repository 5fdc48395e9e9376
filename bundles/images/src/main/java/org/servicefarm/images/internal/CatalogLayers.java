package org.servicefarm.images.internal;

import java.util.ArrayList;
import java.util.List;

import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.Offering;

/** An offering's catalog components in layer order (os, server, runtime, application, patches), as images list them. */
final class CatalogLayers {

    private CatalogLayers() {
    }

    static List<CatalogComponent> of(Offering offering) {
        List<CatalogComponent> layers = new ArrayList<>();
        layers.add(new CatalogComponent(Kind.OS, offering.environment().os(), null));
        layers.add(new CatalogComponent(Kind.SERVER, offering.environment().server(), null));
        if (!Resolver.NO_RUNTIME.equals(offering.environment().runtime())) {
            layers.add(new CatalogComponent(Kind.RUNTIME, offering.environment().runtime(), null));
        }
        layers.add(new CatalogComponent(Kind.APPLICATION, offering.service(), offering.version()));
        offering.environment().patches().forEach(p -> layers.add(new CatalogComponent(Kind.PATCH, p, null)));
        return layers;
    }
}
