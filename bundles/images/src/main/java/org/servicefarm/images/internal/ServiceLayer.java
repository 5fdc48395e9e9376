package org.servicefarm.images.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The generated initrd layer, the last the kernel unpacks: the guest's host name, one
 * {@code /etc/sf/services/sN.conf} per service and the status files that list services and components,
 * as {@code components/compose} writes them: root-owned, mode 0644 files and 0755 directories, every
 * time stamp {@value #EPOCH}, entries sorted by name (C locale), gzip'd newc cpio.
 */
final class ServiceLayer {

    /** The time stamp of every entry, as in components/build's layers. */
    static final long EPOCH = 1_700_000_000L;

    private ServiceLayer() {
    }

    /** The layer's uncompressed cpio archive. */
    static byte[] archive(Composition composition, String hostname) {
        List<Cpio.Entry> entries = new ArrayList<>();
        for (String dir : List.of("etc", "etc/sf", "etc/sf/services", "etc/sf/status")) {
            entries.add(new Cpio.Entry(dir, 0755, null));
        }
        entries.add(file("etc/hostname", hostname + "\n"));
        StringBuilder services = new StringBuilder();
        for (Composition.ServiceConf service : composition.services()) {
            entries.add(file("etc/sf/services/" + service.id() + ".conf", service.conf()));
            services.append(service.line()).append('\n');
        }
        entries.add(file("etc/sf/status/services.txt", services.toString()));
        StringBuilder components = new StringBuilder();
        composition.componentIds().forEach(id -> components.append(id).append('\n'));
        entries.add(file("etc/sf/status/components.txt", components.toString()));
        entries.sort(Comparator.comparing(Cpio.Entry::path));
        return Cpio.write(entries, EPOCH);
    }

    /** The layer as it goes into the initrd: the archive, gzip'd. */
    static byte[] layer(Composition composition, String hostname) {
        return Gzip.compress(archive(composition, hostname));
    }

    private static Cpio.Entry file(String path, String content) {
        return new Cpio.Entry(path, 0644, content.getBytes(StandardCharsets.UTF_8));
    }
}
