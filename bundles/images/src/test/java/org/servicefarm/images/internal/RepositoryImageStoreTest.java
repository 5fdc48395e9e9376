package org.servicefarm.images.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Offering;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.eviction.EvictionCandidate;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;

/** The DS component as DS would wire it: configuration, the state table's live VMs, the image policy. */
class RepositoryImageStoreTest {

    @TempDir
    Path tmp;
    private final RepositoryImageStore store = new RepositoryImageStore();
    private final ImageEviction eviction = new ImageEviction();
    private final List<VmRecord> vms = new java.util.concurrent.CopyOnWriteArrayList<>();

    private void activate(Map<String, Object> config) {
        store.eviction = eviction;
        store.stateTable = new StateTableView() {
            @Override
            public List<VmRecord> vms() {
                return vms;
            }

            @Override
            public java.util.Optional<VmRecord> vm(String id) {
                return vms.stream().filter(vm -> vm.id().equals(id)).findFirst();
            }

            @Override
            public List<VmRecord> offering(Offering offering) {
                return vms.stream().filter(vm -> vm.offering().equals(offering)).toList();
            }
        };
        store.activate(Converters.standardConverter().convert(config).to(RepositoryImageStore.Config.class), null);
        active = true;
    }

    private boolean active;

    @AfterEach
    void stop() {
        if (active) {
            store.deactivate();
        }
    }

    private Map<String, Object> config(long budgetMiB) {
        Map<String, Object> config = new HashMap<>();
        config.put("repository", tmp.resolve("repo").toString());
        config.put("imageDirectory", tmp.resolve("images").toString());
        config.put("budgetMiB", budgetMiB);
        config.put("evictionGraceSeconds", 0);
        return config;
    }

    @Test
    void buildsFromTheConfiguredRepositoryAndListsItsComponents() throws Exception {
        TestRepository.standard(tmp.resolve("repo"));
        activate(config(64));
        List<ComponentInfo> components = store.components();
        assertEquals(8, components.size());
        ComponentInfo web = components.stream().filter(c -> c.name().equals("web")).findFirst().orElseThrow();
        assertEquals(ComponentInfo.Kind.SERVER, web.kind());
        assertEquals(List.of("abi:libc", "init:sf"), web.needs());
        assertTrue(web.sizes().get("initrd-layer") > 5000);

        Offering wiki = ImageCacheTest.offering("wiki", "2.1", "tiny-1", "web-1.2", "php-8");
        assertEquals(java.util.Optional.empty(), store.compositionOnlyBecause(wiki,
                List.of(new VmSpec.GuestService("wiki", 8080))), "bootable, told before it is built");
        assertEquals("no operating system component 'windows-2022'", store.compositionOnlyBecause(
                ImageCacheTest.offering("wiki", "2.1", "windows-2022", "web-1.2", "php-8"),
                List.of(new VmSpec.GuestService("wiki", 8080))).orElseThrow());
        assertEquals(List.of(), store.statuses(), "telling it built nothing");
        ImageStatus started = store.build(wiki, List.of(new VmSpec.GuestService("wiki", 8080)));
        ImageRef image = store.obtain(wiki, List.of(new VmSpec.GuestService("wiki", 8080)));
        assertEquals(started.id(), image.id());
        assertEquals(ImageRef.Kind.PREBUILT, image.kind(), "built ahead of demand");
        assertEquals(List.of(Artifact.Kind.KERNEL, Artifact.Kind.INITRD), image.artifacts().stream().map(Artifact::kind)
                .toList());
        assertEquals("console=ttyS0 quiet", image.kernelArgs());
        assertTrue(store.find(wiki).isPresent());
        assertEquals(image, store.images().get(0));
        assertEquals(ImageStatus.State.READY, store.status(image.id()).orElseThrow().state());
        assertThrows(IllegalArgumentException.class, () -> store.obtain(wiki,
                List.of(new VmSpec.GuestService("wiki", 0))), "not a TCP port");
        assertThrows(RuntimeException.class, () -> store.obtain(wiki,
                List.of(new VmSpec.GuestService("../wiki", 80))), "not a name");
    }

    @Test
    void anImageALiveVmRunsFromIsInUseAndNeverEvicted() throws Exception {
        TestRepository.standard(tmp.resolve("repo"));
        activate(config(1));
        eviction.bindImagePolicy((candidates, now) -> candidates.stream()
                .sorted(Comparator.comparing(EvictionCandidate::lastUsedAt)).toList());
        Offering site = ImageCacheTest.offering("site", "1.0", "tiny-1", "web-1.2", "none");
        ImageRef image = store.obtain(site);
        vms.add(new VmRecord("sf-1", "alpha", image.id(), site, Map.of(), VmState.ACTIVE, new Capacity(1, 256, 1),
                Instant.now(), null, 0, null));
        vms.add(new VmRecord("sf-2", "alpha", image.id(), site, Map.of(), VmState.DESTROYED, new Capacity(1, 256, 1),
                Instant.now(), null, 0, null));
        assertEquals(1, store.status(image.id()).orElseThrow().inUse(), "DESTROYED VMs do not count");
        assertEquals(Map.of(image.id(), 1), store.inUse());
    }

    @Test
    void withoutARepositoryImagesAreCompositionsThatSayWhy() throws Exception {
        Map<String, Object> config = config(64);
        config.put("repository", "");
        activate(config);
        Offering site = ImageCacheTest.offering("site", "1.0", "tiny-1", "web-1.2", "none");
        String told = store.compositionOnlyBecause(site, List.of(new VmSpec.GuestService("site", 80))).orElseThrow();
        ImageRef image = store.obtain(site);
        assertTrue(image.compositionOnly());
        assertTrue(image.reason().startsWith("no component repository is configured"), image.reason());
        assertEquals(image.reason(), told, "told before as the image says it");
        assertEquals(List.of(), store.components());
        assertFalse(Files.exists(tmp.resolve("images")));
    }

    @Test
    void directoriesMayNameTheDataDirectory() {
        String before = System.getProperty("karaf.data");
        System.setProperty("karaf.data", "/srv/karaf/data");
        try {
            assertEquals(Path.of("/srv/karaf/data/servicefarm/components"),
                    RepositoryImageStore.directory("${karaf.data}/servicefarm/components"));
            assertEquals(null, RepositoryImageStore.directory(" "));
        } finally {
            if (before == null) {
                System.clearProperty("karaf.data");
            } else {
                System.setProperty("karaf.data", before);
            }
        }
    }
}
