package org.servicefarm.api.image;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One component of the image store's component repository, as its manifest describes it: an
 * operating system (a kernel and a base root), a library added to satisfy a need, server software,
 * a language runtime, an application or a patch.
 *
 * @param id       its id, {@code kind/name/version}, e.g. {@code server/nginx/1.22.1-9+deb12u11}
 * @param kind     what it is
 * @param name     its name, e.g. {@code nginx}
 * @param version  its version, e.g. {@code 1.22.1-9+deb12u11}
 * @param provides the selectors it satisfies, catalog names among them, e.g. {@code server:nginx-1.22}
 * @param needs    the selectors a combination holding it must provide ({@code a|b} alternatives, {@code *} globs)
 * @param sizes    the bytes of its artifacts by role ({@code kernel}, {@code initrd-layer}, {@code disk}), sorted by role
 */
public record ComponentInfo(String id, Kind kind, String name, String version, List<String> provides,
                            List<String> needs, Map<String, Long> sizes) {

    public enum Kind {
        OS, LIB, SERVER, RUNTIME, APP, PATCH;

        /** The name of this kind in manifests and ids, e.g. {@code os}. */
        public String prefix() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ComponentInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        provides = List.copyOf(provides);
        needs = List.copyOf(needs);
        sizes = Collections.unmodifiableMap(new TreeMap<>(sizes));
    }

    /** The bytes of all its artifacts together. */
    public long sizeBytes() {
        return sizes.values().stream().mapToLong(Long::longValue).sum();
    }
}
