package org.servicefarm.images.internal;

import java.util.List;

import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;

/**
 * A combination resolved against the repository: what goes into its image, in order.
 *
 * @param components   the chosen components in layer order: os, lib, server, runtime, app, patch
 * @param kernel       the OS's kernel
 * @param disk         the OS's read-only root disk, or null (initramfs-only OS)
 * @param layers       the initrd layers in the order the kernel unpacks them (the generated layer comes after)
 * @param cmdline      the kernel command line
 * @param minMemoryMiB the most any component asks for
 * @param services     one entry per guest service: what its {@code sN.conf} says
 */
record Composition(Offering offering, List<VmSpec.GuestService> guestServices, List<RepositoryComponent> components,
                   RepositoryComponent.Blob kernel, RepositoryComponent.Blob disk, List<RepositoryComponent.Blob> layers, String cmdline,
                   int minMemoryMiB, List<ServiceConf> services) {

    /**
     * One service in the guest, as {@code /etc/sf/services/sN.conf} and {@code services.txt} describe it.
     *
     * @param line its line in {@code /etc/sf/status/services.txt}
     */
    record ServiceConf(String id, String app, String appDir, String server, int port, String runtime,
                       int backendPort, String line) {

        String conf() {
            return "SF_ID=" + id + "\nSF_APP=" + app + "\nSF_APP_DIR=" + appDir + "\nSF_SERVER=" + server
                    + "\nSF_PORT=" + port + "\nSF_RUNTIME=" + runtime + "\nSF_BACKEND_PORT=" + backendPort + "\n";
        }
    }

    Composition {
        guestServices = List.copyOf(guestServices);
        components = List.copyOf(components);
        layers = List.copyOf(layers);
        services = List.copyOf(services);
    }

    List<String> componentIds() {
        return components.stream().map(RepositoryComponent::id).toList();
    }

    /** The bytes of every blob the image is made of (the generated layer aside). */
    long blobBytes() {
        long bytes = kernel.size() + (disk == null ? 0 : disk.size());
        for (RepositoryComponent.Blob layer : layers) {
            bytes += layer.size();
        }
        return bytes;
    }
}
