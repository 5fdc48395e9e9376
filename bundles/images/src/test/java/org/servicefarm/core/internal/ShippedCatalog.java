package org.servicefarm.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.osgi.util.converter.Converters;
import org.servicefarm.api.DirectoryView;

/**
 * The core's directory on the catalog the appliance ships, configured as DS would (a test helper in the
 * core's package, on the images bundle's test class path only).
 */
public final class ShippedCatalog {

    private ShippedCatalog() {
    }

    public static DirectoryView directory(Path catalogCfg) {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(catalogCfg)) {
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> map = new HashMap<>();
        properties.forEach((k, v) -> map.put((String) k, v));
        CatalogDirectory directory = new CatalogDirectory();
        directory.configure(Converters.standardConverter().convert(map).to(CatalogDirectory.Config.class), map, null);
        return directory;
    }
}
