package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;

/**
 * The resolver on the fixture: the index.json of a real components/build run (trimmed of Debian package
 * lists and build stamps; no blobs). Expected compositions and refusals are components/compose's.
 */
class ResolverTest {

    static final Path FIXTURE = Path.of("src/test/resources/repository");

    static Repository fixture() throws RepositoryException {
        return Repository.read(FIXTURE);
    }

    private static Offering offering(String app, String version, String os, String server, String runtime,
                                     String... patches) {
        return new Offering(app, version, new Environment(os, server, runtime, List.of(patches)), "standard");
    }

    private static Composition resolve(Offering offering) throws Exception {
        return Resolver.resolve(fixture(), offering, List.of(new VmSpec.GuestService(offering.service(), 80)));
    }

    private static String refusal(Offering offering) {
        return assertThrows(Resolver.Refusal.class, () -> resolve(offering)).getMessage();
    }

    @Test
    void theFirstSessionsWikiIsDebianNginxPhp() throws Exception {
        Composition wiki = resolve(offering("wiki", "2.1", "debian-12", "nginx-1.22", "php-8.2"));
        assertEquals(List.of("os/debian-12/12-12.4+deb12u15", "server/nginx/1.22.1-9+deb12u11",
                "runtime/php/8.2.36-1~deb12u1", "app/wiki/2.1"), wiki.componentIds());
        assertEquals(List.of("a5ba8592fd825cabcfa4a8c28c4da5c471db7d7720f1a8854aaaa1bd3244d32d",
                "c5dd09805ac270e23ee6c414ab391bcafeae049e2e819d1f33af77e5342cc5bf",
                "f3b1aadb5765d380fcbbfeaaabee17ee94417445b379d896b410feb120d1aebe",
                "2390c8802e4278e23c3b9d84780f426c71da8f2f35a0aab44d8c95c59118714a"),
                wiki.layers().stream().map(RepositoryComponent.Blob::sha256).toList(), "compose's layers for scenario d");
        assertEquals("console=ttyS0 quiet panic=5 rootfstype=ramfs", wiki.cmdline());
        assertTrue(wiki.disk() != null && wiki.disk().size() > 100_000_000, "the shared read-only root disk");
        assertEquals(128, wiki.minMemoryMiB());
        assertEquals("SF_ID=s1\nSF_APP=wiki\nSF_APP_DIR=/srv/sf/apps/wiki-2.1\nSF_SERVER=nginx\nSF_PORT=80\n"
                + "SF_RUNTIME=php\nSF_BACKEND_PORT=9001\n", wiki.services().get(0).conf());
    }

    @Test
    void theGeneratedLayerIsComposesToTheByte() throws Exception {
        Composition wiki = resolve(offering("wiki", "2.1", "debian-12", "nginx-1.22", "php-8.2"));
        byte[] archive = ServiceLayer.archive(wiki, "guest");
        // components/compose --os debian-12 --service wiki,nginx,php,80, its generated layer unzipped
        assertArrayEquals(Files.readAllBytes(FIXTURE.resolve("compose-wiki-debian-12.cpio")), archive);
        byte[] compose = Files.readAllBytes(FIXTURE.resolve("compose-wiki-debian-12.cpio.gz"));
        byte[] ours = ServiceLayer.layer(wiki, "guest");
        assertArrayEquals(archive, CpioReader.gunzip(ours));
        assertArrayEquals(java.util.Arrays.copyOf(compose, 10), java.util.Arrays.copyOf(ours, 10),
                "the gzip header of gzip -n");
        System.out.println("generated layer gzip'd: " + (java.util.Arrays.equals(compose, ours)
                ? "the same bytes as GNU gzip's" : "other bytes than GNU gzip's (another deflate), the same archive"));
    }

    @Test
    void theGeneratedArchiveParsesWithTheJavaReaderAndWithCpio() throws Exception {
        Composition wiki = resolve(offering("wiki", "2.1", "debian-12", "nginx-1.22", "php-8.2"));
        byte[] archive = ServiceLayer.archive(wiki, "guest");
        List<String> names = CpioReader.read(archive).stream().map(CpioReader.Entry::name).toList();
        assertEquals(List.of("etc", "etc/hostname", "etc/sf", "etc/sf/services", "etc/sf/services/s1.conf",
                "etc/sf/status", "etc/sf/status/components.txt", "etc/sf/status/services.txt"), names);
        CpioReader.Entry services = CpioReader.read(archive).get(3);
        assertEquals(040755, services.mode());
        assertEquals(2, services.links());
        assertEquals(ServiceLayer.EPOCH, services.mtime());
        assertEquals(0, archive.length % 512, "padded to cpio's 512-byte blocks");
        java.nio.file.Path cpio = java.util.stream.Stream.of(System.getenv("PATH").split(":"))
                .map(dir -> java.nio.file.Path.of(dir, "cpio")).filter(Files::isExecutable).findFirst().orElse(null);
        if (cpio == null) {
            System.out.println("cpio is not installed: the archive was checked by the Java reader and against "
                    + "GNU cpio's own archive (theGeneratedLayerIsComposesToTheByte)");
            return;
        }
        Process list = new ProcessBuilder(cpio.toString(), "-it", "--quiet").redirectErrorStream(true).start();
        list.getOutputStream().write(archive);
        list.getOutputStream().close();
        String listed = new String(list.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, list.waitFor(), listed);
        assertEquals(names, listed.lines().toList(), "cpio -t lists what the Java reader reads");
    }

    @Test
    void busyboxWithAGlibcServerPullsInTheGlibcLibrary() throws Exception {
        Composition wiki = resolve(offering("wiki", "2.1", "busybox-1.35", "nginx-1.22", "php-8.2"));
        assertEquals(List.of("os/busybox/1.35.0-4+deb12u1+b1", "lib/glibc/2.36-9+deb12u14",
                "server/nginx/1.22.1-9+deb12u11", "runtime/php/8.2.36-1~deb12u1", "app/wiki/2.1"), wiki.componentIds());
        assertEquals(null, wiki.disk());
    }

    @Test
    void patchesComeLastAndCatalogNamesFindComponentsByWhatTheyProvide() throws Exception {
        Composition patched = resolve(offering("static-site", "1.0", "debian-12", "httpd-2.4", "none",
                "httpd-cve-2024-38476", "openssl-3.0.15"));
        assertEquals(List.of("os/debian-12/12-12.4+deb12u15", "server/apache2/2.4.71-1~deb12u1", "app/static-site/1.0",
                "patch/httpd-cve-2024-38476/1", "patch/openssl/3.0.22-1~deb12u2"), patched.componentIds());
        assertEquals("none", patched.services().get(0).runtime());
    }

    @Test
    void refusalsUseComposesWordsAndNameWhatIsMissing() throws Exception {
        assertEquals("no operating system component 'windows-2022'",
                refusal(offering("static-site", "1.0", "windows-2022", "iis-10", "none")));
        assertEquals("no server component 'tomcat-10.1'",
                refusal(offering("shop", "3.1", "debian-12", "tomcat-10.1", "java-17")));
        assertEquals("no application component 'shop@3.0'",
                refusal(offering("shop", "3.0", "debian-12", "tomcat-10.1", "java-17")));
        assertEquals("server server/busybox-httpd/1.35.0-4+deb12u1+b1 cannot host runtime 'php-8.2'",
                refusal(offering("wiki", "2.1", "busybox-1.35", "busybox-httpd-1.35", "php-8.2")));
        assertEquals("patch/httpd-cve-2024-38476/1 needs server:apache2, which nothing in this combination provides",
                refusal(offering("static-site", "1.0", "debian-12", "nginx-1.22", "none", "httpd-cve-2024-38476")));
        assertEquals("lib/glibc/2.36-9+deb12u14 needs os:busybox, which nothing in this combination provides "
                + "(lib/glibc/2.36-9+deb12u14 was added because server/nginx/1.22.1-9+deb12u11 needs abi:glibc-2.36)",
                refusal(offering("static-site", "1.0", "debian-11", "nginx-1.22", "none")));
    }

    @Test
    void debianElevenRunsBusyboxHttpdOnly() throws Exception {
        Composition g = resolve(offering("static-site", "1.0", "debian-11", "busybox-httpd-1.35", "none"));
        assertEquals(List.of("os/debian-11/11-bullseye", "server/busybox-httpd/1.35.0-4+deb12u1+b1",
                "app/static-site/1.0"), g.componentIds());
    }

    @Test
    void servicesGetOneConfEachWithTheirOwnPortAndBackendPort() throws Exception {
        Offering wiki = offering("wiki", "2.1", "debian-12", "nginx-1.22", "php-8.2");
        Composition two = Resolver.resolve(fixture(), wiki, List.of(new VmSpec.GuestService("wiki", 8080),
                new VmSpec.GuestService("wiki", 8081)));
        assertEquals(List.of("s1", "s2"), two.services().stream().map(Composition.ServiceConf::id).toList());
        assertEquals(8081, two.services().get(1).port());
        assertEquals(9002, two.services().get(1).backendPort());
        assertEquals(4, two.components().size(), "the same components once");
    }

    @Test
    void findsByNameAndVersionPrefixLikeCompose() throws IOException, RepositoryException {
        Repository repository = fixture();
        assertEquals("app/wiki/2.1", repository.find(org.servicefarm.api.image.ComponentInfo.Kind.APP, "wiki")
                .orElseThrow().id(), "the newest version");
        assertEquals("server/nginx/1.22.1-9+deb12u11", repository.find(
                org.servicefarm.api.image.ComponentInfo.Kind.SERVER, "nginx@1.22.1").orElseThrow().id(),
                "a Debian revision of the version named");
        assertTrue(repository.find(org.servicefarm.api.image.ComponentInfo.Kind.SERVER, "nginx-1.26").isEmpty());
    }
}
