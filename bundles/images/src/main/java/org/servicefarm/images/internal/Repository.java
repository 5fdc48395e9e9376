package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.servicefarm.api.image.ComponentInfo;

/**
 * A component repository as read from its {@code index.json}: the components in index order and the
 * look-ups the resolver needs. Immutable; a changed index makes a new one. Blobs are addressed by
 * their sha256 alone: {@code <root>/blobs/sha256/<hex>}.
 */
final class Repository {

    private final Path root;
    private final List<RepositoryComponent> components;
    private final Map<String, RepositoryComponent> byId;

    Repository(Path root, List<RepositoryComponent> components) {
        this.root = root;
        this.components = List.copyOf(components);
        Map<String, RepositoryComponent> ids = new LinkedHashMap<>();
        components.forEach(c -> ids.put(c.id(), c));
        this.byId = Collections.unmodifiableMap(ids);
    }

    /** Reads {@code <root>/index.json}. */
    static Repository read(Path root) throws RepositoryException {
        Path index = root.resolve("index.json");
        try {
            BasicFileAttributes attributes = Files.readAttributes(index, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isRegularFile()) {
                throw new RepositoryException(index + " is not a regular file");
            }
            if (attributes.size() > Manifests.MAX_INDEX_BYTES) {
                throw new RepositoryException(index + " is larger than " + Manifests.MAX_INDEX_BYTES + " bytes");
            }
            try (InputStream in = Files.newInputStream(index, LinkOption.NOFOLLOW_LINKS)) {
                return new Repository(root, Manifests.read(in));
            }
        } catch (IOException e) {
            throw new RepositoryException(index + " cannot be read: " + e.getMessage(), e);
        }
    }

    Path root() {
        return root;
    }

    List<RepositoryComponent> components() {
        return components;
    }

    Optional<RepositoryComponent> byId(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /**
     * The component of {@code kind} a catalog or command-line name stands for, as {@code components/compose}
     * finds it: by name (and version: exact, or a Debian revision of it, {@code NAME@VERSION}), else by a
     * {@code kind:spec} selector it provides; the newest version when several match (later in the index on a tie).
     */
    Optional<RepositoryComponent> find(ComponentInfo.Kind kind, String spec) {
        int at = spec.lastIndexOf('@');
        String name = at < 0 ? spec : spec.substring(0, at);
        String version = at < 0 ? "" : spec.substring(spec.indexOf('@') + 1);
        RepositoryComponent best = null;
        for (RepositoryComponent c : components) {
            if (c.kind() == kind && c.name().equals(name)
                    && (version.isEmpty() || c.version().equals(version) || c.version().startsWith(version + "-"))) {
                best = newer(best, c);
            }
        }
        if (best != null) {
            return Optional.of(best);
        }
        String selector = kind.prefix() + ":" + spec;
        for (RepositoryComponent c : components) {
            if (c.kind() == kind && c.provides().contains(selector)) {
                best = newer(best, c);
            }
        }
        return Optional.ofNullable(best);
    }

    /** The newest {@code lib} component that provides {@code selector} exactly. */
    Optional<RepositoryComponent> libProviding(String selector) {
        RepositoryComponent best = null;
        for (RepositoryComponent c : components) {
            if (c.kind() == ComponentInfo.Kind.LIB && c.provides().contains(selector)) {
                best = newer(best, c);
            }
        }
        return Optional.ofNullable(best);
    }

    private static RepositoryComponent newer(RepositoryComponent best, RepositoryComponent candidate) {
        return best == null || candidate.version().compareTo(best.version()) >= 0 ? candidate : best;
    }

    /**
     * The blob file of a sha256 the manifests named (already checked to be 64 hex digits): never a path
     * made of anything else. The caller checks it is a regular file and its content has that digest.
     */
    Path blob(String sha256) {
        if (!Manifests.SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a sha256: " + sha256);
        }
        return root.resolve("blobs").resolve("sha256").resolve(sha256);
    }
}
