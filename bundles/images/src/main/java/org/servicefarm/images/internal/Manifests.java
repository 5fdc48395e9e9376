package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.servicefarm.api.Names;
import org.servicefarm.api.image.ComponentInfo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Reads a repository's {@code index.json} ({@code servicefarm.repository/1}, one
 * {@code servicefarm.component/1} manifest per component, as {@code components/build} writes it) and
 * checks every field this bundle uses; fields it does not use (Debian packages, build keys, ...) are
 * ignored. Anything from a manifest that could reach a file, a shell or a kernel command line is held
 * to a grammar here: ids, names and versions never become paths (blobs are found by their sha256), a
 * document root is a plain absolute guest path, a command line is printable ASCII.
 */
final class Manifests {

    static final String INDEX_SCHEMA = "servicefarm.repository/1";
    static final String COMPONENT_SCHEMA = "servicefarm.component/1";
    /** An index larger than this is refused unread. */
    static final long MAX_INDEX_BYTES = 16L << 20;
    static final int MAX_COMPONENTS = 10_000;
    static final int MAX_LIST = 256;

    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** Debian versions: digits, letters and . + ~ _ - (an epoch's ':' too). */
    static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}");
    /** A selector with alternatives: {@code kind:value[|kind:value]...}, values with '*' and '?' globs. */
    static final Pattern SELECTORS = Pattern.compile(
            "[a-z][a-z0-9-]{0,15}:[A-Za-z0-9._+@*?~-]{1,100}(\\|[a-z][a-z0-9-]{0,15}:[A-Za-z0-9._+@*?~-]{1,100}){0,15}");
    /** A plain absolute path in the guest: no '..' segment, nothing a shell would read as more than a word. */
    static final Pattern GUEST_PATH = Pattern.compile("(/[A-Za-z0-9._+-]+)+");
    static final Pattern CMDLINE = Pattern.compile("[\\x20-\\x7e]{0,1024}");
    static final Set<String> ROLES = Set.of(RepositoryComponent.KERNEL, RepositoryComponent.INITRD_LAYER, RepositoryComponent.DISK);

    /** The JSON of index.json, as bound. */
    record IndexJson(String schema, List<ComponentJson> components) {
    }

    record ComponentJson(String schema, String id, String kind, String name, String version, List<String> provides,
                         List<String> needs, List<ArtifactJson> artifacts, StartJson start, AppJson app,
                         Integer minMemoryMiB) {
    }

    record ArtifactJson(String role, String sha256, Long size, String cmdline) {
    }

    record StartJson(String name, List<String> runtimes) {
    }

    record AppJson(String type, String root) {
    }

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    private Manifests() {
    }

    /** Reads and checks an index; the components in index order. */
    static List<RepositoryComponent> read(InputStream in) throws RepositoryException {
        IndexJson index;
        try {
            index = MAPPER.readValue(in, IndexJson.class);
        } catch (JsonProcessingException e) {
            throw new RepositoryException("index.json is not a repository index: "
                    + Names.excerpt(e.getOriginalMessage(), 200));
        } catch (IOException e) {
            throw new RepositoryException("index.json cannot be read: " + e.getMessage(), e);
        }
        if (index == null || !INDEX_SCHEMA.equals(index.schema())) {
            throw new RepositoryException("index.json's schema must be " + INDEX_SCHEMA + ", not "
                    + (index == null ? "null" : Names.excerpt(index.schema())));
        }
        if (index.components() == null) {
            throw new RepositoryException("index.json lists no components");
        }
        if (index.components().size() > MAX_COMPONENTS) {
            throw new RepositoryException("index.json lists more than " + MAX_COMPONENTS + " components");
        }
        List<RepositoryComponent> components = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < index.components().size(); i++) {
            RepositoryComponent component = component(i, index.components().get(i));
            if (!ids.add(component.id())) {
                throw new RepositoryException("component " + component.id() + " is listed twice");
            }
            components.add(component);
        }
        return components;
    }

    private static RepositoryComponent component(int i, ComponentJson json) throws RepositoryException {
        String where = "component #" + i;
        if (json == null) {
            throw new RepositoryException(where + " is null");
        }
        if (!COMPONENT_SCHEMA.equals(json.schema())) {
            throw new RepositoryException(where + ": schema must be " + COMPONENT_SCHEMA + ", not "
                    + Names.excerpt(json.schema()));
        }
        ComponentInfo.Kind kind = kind(where, json.kind());
        if (!Names.valid(json.name())) {
            throw new RepositoryException(where + ": name " + Names.excerpt(json.name()) + " is not a name");
        }
        if (json.version() == null || !VERSION.matcher(json.version()).matches()) {
            throw new RepositoryException(where + ": version " + Names.excerpt(json.version()) + " is not a version");
        }
        String id = kind.prefix() + "/" + json.name() + "/" + json.version();
        if (!id.equals(json.id())) {
            throw new RepositoryException(where + ": id " + Names.excerpt(json.id()) + " must be " + id);
        }
        where = "component " + id;
        List<String> provides = selectors(where, "provides", json.provides());
        List<String> needs = selectors(where, "needs", json.needs());
        List<RepositoryComponent.Blob> artifacts = artifacts(where, json.artifacts());
        String startName = null;
        List<String> runtimes = List.of();
        if (json.start() != null) {
            startName = name(where, "start.name", json.start().name());
            List<String> list = new ArrayList<>();
            for (String runtime : list(where, "start.runtimes", json.start().runtimes())) {
                list.add(name(where, "start.runtimes", runtime));
            }
            runtimes = list;
        }
        String appRoot = null;
        if (json.app() != null) {
            appRoot = json.app().root();
            if (appRoot == null || appRoot.length() > 255 || !GUEST_PATH.matcher(appRoot).matches()
                    || ("/" + appRoot + "/").contains("/../") || ("/" + appRoot + "/").contains("/./")) {
                throw new RepositoryException(where + ": app.root " + Names.excerpt(appRoot)
                        + " is not a plain absolute path");
            }
        }
        int memory = json.minMemoryMiB() == null ? 0 : json.minMemoryMiB();
        if (memory < 0 || memory > 1 << 20) {
            throw new RepositoryException(where + ": minMemoryMiB " + memory + " is out of range");
        }
        return new RepositoryComponent(id, kind, json.name(), json.version(), provides, needs, artifacts, startName, runtimes,
                appRoot, memory);
    }

    private static ComponentInfo.Kind kind(String where, String kind) throws RepositoryException {
        for (ComponentInfo.Kind k : ComponentInfo.Kind.values()) {
            if (k.prefix().equals(kind)) {
                return k;
            }
        }
        throw new RepositoryException(where + ": kind " + Names.excerpt(kind) + " is not one of os, lib, server, "
                + "runtime, app, patch");
    }

    private static String name(String where, String field, String value) throws RepositoryException {
        if (!Names.valid(value)) {
            throw new RepositoryException(where + ": " + field + " " + Names.excerpt(value) + " is not a name");
        }
        return value;
    }

    private static List<String> list(String where, String field, List<String> values) throws RepositoryException {
        if (values == null) {
            return List.of();
        }
        if (values.size() > MAX_LIST) {
            throw new RepositoryException(where + ": " + field + " has more than " + MAX_LIST + " entries");
        }
        return values;
    }

    private static List<String> selectors(String where, String field, List<String> values) throws RepositoryException {
        List<String> checked = new ArrayList<>();
        for (String value : list(where, field, values)) {
            if (value == null || !SELECTORS.matcher(value).matches()) {
                throw new RepositoryException(where + ": " + field + " entry " + Names.excerpt(value)
                        + " is not a selector (kind:name, alternatives joined by '|')");
            }
            checked.add(value);
        }
        return checked;
    }

    private static List<RepositoryComponent.Blob> artifacts(String where, List<ArtifactJson> values) throws RepositoryException {
        if (values == null) {
            return List.of();
        }
        if (values.size() > MAX_LIST) {
            throw new RepositoryException(where + ": more than " + MAX_LIST + " artifacts");
        }
        List<RepositoryComponent.Blob> blobs = new ArrayList<>();
        Set<String> single = new HashSet<>();
        for (ArtifactJson artifact : values) {
            if (artifact == null || artifact.role() == null || !ROLES.contains(artifact.role())) {
                throw new RepositoryException(where + ": artifact role " + Names.excerpt(artifact == null ? null
                        : artifact.role()) + " is not one of kernel, initrd-layer, disk");
            }
            String role = artifact.role();
            if (!role.equals(RepositoryComponent.INITRD_LAYER) && !single.add(role)) {
                throw new RepositoryException(where + ": more than one " + role + " artifact");
            }
            if (artifact.sha256() == null || !SHA256.matcher(artifact.sha256()).matches()) {
                throw new RepositoryException(where + ": artifact sha256 " + Names.excerpt(artifact.sha256())
                        + " is not 64 lower-case hex digits");
            }
            if (artifact.size() == null || artifact.size() < 0) {
                throw new RepositoryException(where + ": artifact " + artifact.sha256() + " has no size");
            }
            String cmdline = artifact.cmdline();
            if (cmdline != null && (!role.equals(RepositoryComponent.KERNEL) || !CMDLINE.matcher(cmdline).matches())) {
                throw new RepositoryException(where + ": a cmdline belongs to a kernel and is printable ASCII");
            }
            blobs.add(new RepositoryComponent.Blob(role, artifact.sha256(), artifact.size(), cmdline == null ? "" : cmdline));
        }
        return blobs;
    }
}
