package org.servicefarm.core.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;

/**
 * The built-in image store: an image is the ordered composition of its components (base OS,
 * server, runtime, application, patches), identified by a digest of that composition. It holds
 * no disk artifacts, which is all the libvirt test driver needs; a store that builds bootable
 * artifacts registers with a higher ranking and takes over.
 */
@Component(service = ImageStore.class, property = Constants.SERVICE_RANKING + ":Integer=-100")
public class ComposedImageStore implements ImageStore {

    private static final String NO_RUNTIME = "none";
    /** Why its images cannot boot a real guest. */
    static final String REASON = "the built-in image store composes no bootable artifacts (install the "
            + "servicefarm-images feature and give it a component repository)";
    private final Map<Offering, ImageRef> images = new ConcurrentHashMap<>();

    @Override
    public Optional<ImageRef> find(Offering offering) {
        return Optional.ofNullable(images.get(offering));
    }

    @Override
    public ImageRef obtain(Offering offering) {
        return images.computeIfAbsent(offering, ComposedImageStore::compose);
    }

    @Override
    public List<ImageRef> images() {
        return List.copyOf(images.values());
    }

    @Override
    public Optional<String> compositionOnlyBecause(Offering offering, List<VmSpec.GuestService> services) {
        return Optional.of(REASON);
    }

    static ImageRef compose(Offering offering) {
        List<CatalogComponent> layers = new ArrayList<>();
        layers.add(new CatalogComponent(Kind.OS, offering.environment().os(), null));
        layers.add(new CatalogComponent(Kind.SERVER, offering.environment().server(), null));
        if (!NO_RUNTIME.equals(offering.environment().runtime())) {
            layers.add(new CatalogComponent(Kind.RUNTIME, offering.environment().runtime(), null));
        }
        layers.add(new CatalogComponent(Kind.APPLICATION, offering.service(), offering.version()));
        offering.environment().patches().forEach(p -> layers.add(new CatalogComponent(Kind.PATCH, p, null)));
        return new ImageRef("img-" + digest(layers.toString()), offering, ImageRef.Kind.BUILT, layers, List.of(), "",
                0, REASON);
    }

    private static String digest(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
