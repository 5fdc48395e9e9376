package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.servicefarm.api.image.ComponentInfo;

/** index.json's schema: what is read, and what is refused before it can reach a path, a shell or a command line. */
class ManifestsTest {

    private static final String SHA = "a".repeat(64);

    private static List<RepositoryComponent> read(String json) throws RepositoryException {
        return Manifests.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    /** An index of one server component, with {@code field} replaced by {@code value} (raw JSON). */
    private static String server(String field, String value) {
        String id = field.equals("id") ? value : "\"server/web/1.0-1~deb12u1\"";
        String name = field.equals("name") ? value : "\"web\"";
        String version = field.equals("version") ? value : "\"1.0-1~deb12u1\"";
        String artifact = field.equals("artifact") ? value
                : "{\"role\":\"initrd-layer\",\"sha256\":\"" + SHA + "\",\"size\":12,\"format\":\"cpio-newc-gzip\"}";
        String start = field.equals("start") ? value : "{\"name\":\"web\",\"runtimes\":[\"none\",\"php\"]}";
        String needs = field.equals("needs") ? value : "[\"abi:glibc-2.36|abi:musl-*\",\"init:sf-busybox\"]";
        return "{\"schema\":\"servicefarm.repository/1\",\"components\":[{\"schema\":\"servicefarm.component/1\","
                + "\"id\":" + id + ",\"kind\":\"server\",\"name\":" + name + ",\"version\":" + version
                + ",\"provides\":[\"server:web\"],\"needs\":" + needs + ",\"artifacts\":[" + artifact + "],"
                + "\"start\":" + start + ",\"debianPackages\":[{\"package\":\"web\",\"version\":\"1\"}],"
                + "\"inputKey\":\"abc\"}]}";
    }

    @Test
    void readsTheFixtureOfARealBuild() throws Exception {
        List<RepositoryComponent> components = ResolverTest.fixture().components();
        assertEquals(18, components.size());
        RepositoryComponent debian = components.stream().filter(c -> c.id().startsWith("os/debian-12/")).findFirst()
                .orElseThrow();
        assertEquals(ComponentInfo.Kind.OS, debian.kind());
        assertEquals(List.of("disk", "initrd-layer", "kernel"), List.copyOf(debian.info().sizes().keySet()));
        assertTrue(debian.info().sizeBytes() > 190_000_000);
    }

    @Test
    void readsAServerAndIgnoresFieldsItDoesNotUse() throws Exception {
        RepositoryComponent web = read(server("", "")).get(0);
        assertEquals("server/web/1.0-1~deb12u1", web.id());
        assertEquals("web", web.startName());
        assertEquals(List.of("none", "php"), web.runtimes());
        assertEquals(12, web.artifacts().get(0).size());
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
            "id|\"server/other/1.0-1~deb12u1\"|must be server/web/1.0-1~deb12u1",
            "name|\"../etc\"|is not a name",
            "name|\"web;rm -rf\"|is not a name",
            "version|\"1.0/../../x\"|is not a version",
            "artifact|{\"role\":\"initrd-layer\",\"sha256\":\"../../../etc/passwd\",\"size\":1}|is not 64 lower-case hex",
            "artifact|{\"role\":\"initrd-layer\",\"sha256\":\"" + "A" + "\",\"size\":1}|is not 64 lower-case hex",
            "artifact|{\"role\":\"rootkit\",\"sha256\":\"" + "0000000000000000000000000000000000000000000000000000000000000000" + "\",\"size\":1}|is not one of kernel",
            "artifact|{\"role\":\"initrd-layer\",\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\"}|has no size",
            "artifact|{\"role\":\"initrd-layer\",\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":\"12\"}|not a repository index",
            "artifact|{\"role\":\"initrd-layer\",\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1,\"cmdline\":\"x\"}|a cmdline belongs to a kernel",
            "start|{\"name\":\"web\\nSF_PORT=1\",\"runtimes\":[]}|start.name",
            "needs|[\"glibc 2.36\"]|is not a selector",
    })
    void refusesWhatBreaksTheSchema(String field, String value, String expected) {
        RepositoryException e = assertThrows(RepositoryException.class, () -> read(server(field, value)));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/srv/sf/apps/../../etc",
            "/srv/sf/apps/x;reboot",
            "srv/relative",
            "/srv/sf/$(reboot)",
            "/srv/sf/apps/./x",
    })
    void anApplicationRootIsAPlainAbsolutePath(String root) {
        String json = "{\"schema\":\"servicefarm.repository/1\",\"components\":[{\"schema\":\"servicefarm.component/1\","
                + "\"id\":\"app/site/1.0\",\"kind\":\"app\",\"name\":\"site\",\"version\":\"1.0\",\"provides\":[],"
                + "\"needs\":[],\"artifacts\":[],\"app\":{\"type\":\"static\",\"root\":\"" + root + "\"}}]}";
        RepositoryException e = assertThrows(RepositoryException.class, () -> read(json));
        assertTrue(e.getMessage().contains("app.root"), e.getMessage());
    }

    @Test
    void aKernelCommandLineIsPrintableAscii() {
        String json = "{\"schema\":\"servicefarm.repository/1\",\"components\":[{\"schema\":\"servicefarm.component/1\","
                + "\"id\":\"os/x/1\",\"kind\":\"os\",\"name\":\"x\",\"version\":\"1\",\"provides\":[],\"needs\":[],"
                + "\"artifacts\":[{\"role\":\"kernel\",\"sha256\":\"" + SHA + "\",\"size\":1,"
                + "\"cmdline\":\"quiet\\u0000init=/bin/sh\"}]}]}";
        assertThrows(RepositoryException.class, () -> read(json));
    }

    @Test
    void refusesAnotherSchemaDuplicatesAndTrailingText() {
        assertTrue(assertThrows(RepositoryException.class, () -> read("{\"schema\":\"servicefarm.repository/2\","
                + "\"components\":[]}")).getMessage().contains("schema must be servicefarm.repository/1"));
        String one = server("", "");
        String component = one.substring(one.indexOf("\"components\":[") + 14, one.length() - 2);
        String twice = "{\"schema\":\"servicefarm.repository/1\",\"components\":[" + component + "," + component + "]}";
        assertTrue(assertThrows(RepositoryException.class, () -> read(twice)).getMessage().contains("listed twice"));
        assertThrows(RepositoryException.class, () -> read(one + "{}"));
        assertThrows(RepositoryException.class, () -> read("not json"));
        assertThrows(RepositoryException.class, () -> read("{\"schema\":\"servicefarm.repository/1\"}"));
    }
}
