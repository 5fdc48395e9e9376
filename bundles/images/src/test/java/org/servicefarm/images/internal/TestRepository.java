package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small component repository written into a directory, in the layout components/build writes: blobs
 * under blobs/sha256, index.json with one manifest per component. Its layers are real gzip'd newc
 * archives (one file each), its kernel and disk a few random bytes.
 * <p>
 * The default components: os/tiny (kernel, layer), os/disky (kernel, disk, layer; provides abi:libc),
 * lib/libc (abi:libc; needs os:tiny), server/web (runtimes none and php; needs abi:libc), runtime/php,
 * app/site, app/wiki (needs runtime:php-8), patch/fix (needs server:web).
 */
final class TestRepository {

    final Path root;
    private final List<Map<String, Object>> components = new ArrayList<>();

    TestRepository(Path root) {
        this.root = root;
    }

    static TestRepository standard(Path root) {
        TestRepository repo = new TestRepository(root);
        String kernel = repo.blob(bytes("kernel", 4096));
        repo.add("os", "tiny", "1.0", List.of("os:tiny", "os:tiny-1", "init:sf"), List.of(),
                List.of(repo.artifact("kernel", kernel, "console=ttyS0 quiet"), repo.layer("os-tiny", 2000)),
                Map.of("minMemoryMiB", 128));
        repo.add("os", "disky", "2.0", List.of("os:disky", "os:disky-2", "init:sf", "abi:libc"), List.of(),
                List.of(repo.artifact("kernel", kernel, "console=ttyS0"), repo.artifact("disk",
                        repo.blob(bytes("disk", 64 * 1024)), null), repo.layer("os-disky", 1000)),
                Map.of("minMemoryMiB", 256));
        repo.add("lib", "libc", "9", List.of("abi:libc"), List.of("os:tiny"), List.of(repo.layer("libc", 3000)), Map.of());
        repo.add("server", "web", "1.2-1", List.of("server:web", "server:web-1.2"), List.of("abi:libc", "init:sf"),
                List.of(repo.layer("web", 5000)), Map.of("start", Map.of("name", "web", "runtimes",
                        List.of("none", "php"))));
        repo.add("runtime", "php", "8.1-3", List.of("runtime:php", "runtime:php-8"), List.of("abi:libc"),
                List.of(repo.layer("php", 8000)), Map.of("start", Map.of("name", "php")));
        repo.add("app", "site", "1.0", List.of("app:site", "app:site@1.0"), List.of(), List.of(repo.layer("site", 100)),
                Map.of("app", Map.of("type", "static", "root", "/srv/sf/apps/site-1.0")));
        repo.add("app", "wiki", "2.1", List.of("app:wiki", "app:wiki@2.1"), List.of("runtime:php-8"),
                List.of(repo.layer("wiki", 200)), Map.of("app", Map.of("type", "php", "root", "/srv/sf/apps/wiki-2.1")));
        repo.add("patch", "fix", "1", List.of("patch:fix-1"), List.of("server:web"), List.of(repo.layer("fix", 50)),
                Map.of());
        repo.write();
        return repo;
    }

    /** Deterministic pseudo-random bytes named by a seed. */
    static byte[] bytes(String seed, int size) {
        byte[] bytes = new byte[size];
        new java.util.Random(seed.hashCode()).nextBytes(bytes);
        return bytes;
    }

    /** Stores content as a blob; returns its sha256. */
    String blob(byte[] content) {
        String sha = ImageBuilder.sha256(content);
        try {
            Path dir = root.resolve("blobs/sha256");
            Files.createDirectories(dir);
            Files.write(dir.resolve(sha), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sha;
    }

    /** A layer: a gzip'd cpio holding etc/sf/layers/NAME with {@code size} bytes. */
    Map<String, Object> layer(String name, int size) {
        byte[] cpio = Cpio.write(List.of(new Cpio.Entry("etc", 0755, null), new Cpio.Entry("etc/sf", 0755, null),
                new Cpio.Entry("etc/sf/layers", 0755, null),
                new Cpio.Entry("etc/sf/layers/" + name, 0644, bytes(name, size))), ServiceLayer.EPOCH);
        byte[] gz = Gzip.compress(cpio);
        return artifact("initrd-layer", blob(gz), null);
    }

    Map<String, Object> artifact(String role, String sha, String cmdline) {
        Map<String, Object> artifact = new LinkedHashMap<>();
        artifact.put("role", role);
        artifact.put("sha256", sha);
        try {
            artifact.put("size", Files.size(root.resolve("blobs/sha256").resolve(sha)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (cmdline != null) {
            artifact.put("cmdline", cmdline);
        }
        return artifact;
    }

    /** Adds (or replaces, by id) a component. */
    TestRepository add(String kind, String name, String version, List<String> provides, List<String> needs,
                       List<Map<String, Object>> artifacts, Map<String, Object> extra) {
        String id = kind + "/" + name + "/" + version;
        components.removeIf(c -> c.get("id").equals(id));
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schema", "servicefarm.component/1");
        manifest.put("id", id);
        manifest.put("kind", kind);
        manifest.put("name", name);
        manifest.put("version", version);
        manifest.put("provides", provides);
        manifest.put("needs", needs);
        manifest.put("artifacts", artifacts);
        manifest.putAll(extra);
        components.add(manifest);
        return this;
    }

    /** Writes index.json (by a rename, as components/build does). */
    TestRepository write() {
        try {
            Files.createDirectories(root);
            Path tmp = root.resolve("index.json.tmp");
            Files.write(tmp, Manifests.MAPPER.writeValueAsBytes(Map.of("schema", "servicefarm.repository/1",
                    "components", components)));
            Files.move(tmp, root.resolve("index.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Writes index.json as given, for schema tests. */
    void writeIndex(String json) {
        try {
            Files.createDirectories(root);
            Files.writeString(root.resolve("index.json"), json, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path blobPath(String sha) {
        return root.resolve("blobs/sha256").resolve(sha);
    }

    /** The sha256 of a component's first artifact of a role. */
    @SuppressWarnings("unchecked")
    String sha(String id, String role) {
        for (Map<String, Object> c : components) {
            if (c.get("id").equals(id)) {
                for (Map<String, Object> a : (List<Map<String, Object>>) c.get("artifacts")) {
                    if (a.get("role").equals(role)) {
                        return (String) a.get("sha256");
                    }
                }
            }
        }
        throw new IllegalArgumentException("no " + role + " in " + id);
    }
}
