package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;

/**
 * Hosts that boot real guests (QEMU) beside hosts that simulate them (libvirt's test driver): a composition-only image
 * never goes to the former, and is answered NEVER at once when no host of the farm could run it; a real image goes to
 * the hosts that boot it; a VM gets at least the memory its image asks for.
 */
class RealImagesTest {

    private static final Duration LONG = Duration.ofSeconds(10);
    private Farm farm;

    @AfterEach
    void stop() {
        if (farm != null) {
            farm.close();
        }
    }

    /** Real images (one kernel artifact) for the services named, compositions with a reason for the others. */
    private static ImageStore realFor(List<String> services, long minMemoryMiB) {
        return new ImageStore() {
            @Override
            public Optional<ImageRef> find(Offering offering) {
                return Optional.empty();
            }

            @Override
            public ImageRef obtain(Offering offering) {
                ImageRef composition = ComposedImageStore.compose(offering);
                if (!services.contains(offering.service())) {
                    return new ImageRef(composition.id(), offering, composition.kind(), composition.layers(), List.of(),
                            "", 0, "no application component '" + offering.service() + "'");
                }
                Artifact kernel = new Artifact(Artifact.Kind.KERNEL, Path.of("/nonexistent/kernel"), "0".repeat(64), 1);
                return new ImageRef(composition.id(), offering, composition.kind(), composition.layers(),
                        List.of(kernel), "console=ttyS0", 1, null, minMemoryMiB);
            }

            @Override
            public List<ImageRef> images() {
                return List.of();
            }
        };
    }

    private Outcome request(String service) {
        return farm.manager.request(ServiceRequest.of(service).withDeadline(LONG));
    }

    @Test
    void aCompositionOnlyImageIsNeverAtOnceWhenEveryHostBootsRealGuests() {
        farm = new Farm(Map.of(), new FakeHypervisor(), Map.of("bits", "true"));
        Outcome.Never never = assertInstanceOf(Outcome.Never.class, request("wiki"));
        assertTrue(never.reason().startsWith("no real image: " + ComposedImageStore.REASON), never.reason());
        assertTrue(never.elapsed().compareTo(Duration.ofSeconds(2)) < 0, "at once: " + never.elapsed());
        assertTrue(farm.vms().isEmpty(), "nothing was placed");
        assertEquals(0, farm.hypervisor.stages.get());
        assertEquals(0, farm.hypervisor.defines.get());
        // and again, the same way: nothing was left behind by the first refusal
        assertInstanceOf(Outcome.Never.class, request("wiki"));
    }

    @Test
    void compositionsGoToSimulatingHostsAndRealImagesToHostsThatBootThem() {
        farm = new Farm(Map.of(), new FakeHypervisor());
        farm.manager.imageStore = realFor(List.of("wiki", "static-site"), 0);
        // first in the test strategy's order (fewest VMs, then name), and the only host that boots real guests
        farm.addHost("a-qemu", 8, 0.01, "standard", Map.of("bits", "true"));
        Farm.await("a-qemu connected", () -> farm.host("a-qemu").map(HostStatus::connected).orElse(false));

        Outcome.Granted blog = assertInstanceOf(Outcome.Granted.class, request("blog"));
        assertNotEquals("a-qemu", blog.hostId(), "a composition only never goes to a host that needs artifacts");
        Outcome.Granted shop = assertInstanceOf(Outcome.Granted.class, request("shop"));
        assertNotEquals("a-qemu", shop.hostId());

        Outcome.Granted wiki = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals("a-qemu", wiki.hostId(), "a real image goes to the host that boots it");
        Outcome.Granted site = assertInstanceOf(Outcome.Granted.class, request("static-site"));
        assertEquals("a-qemu", site.hostId(), "even when the strategy would prefer a host with fewer VMs, which "
                + "would only simulate it");
    }

    @Test
    void aCompositionOnlyImageWaitsWhileNoHostThatRunsItIsConnected() {
        farm = new Farm(Map.of(), new FakeHypervisor(), Map.of("bits", "true"));
        // a host that has not connected yet (its driver is missing) might run it: RETRY_LATER, not NEVER
        Map<String, Object> config = Map.of("name", "later", "driver", "absent", "uri", "fake:///later");
        HostConfiguration later = new HostConfiguration();
        later.activate(Farm.convert(config, HostConfiguration.Config.class), config);
        farm.hosts.addHost(later);
        // the registry takes a host into its index on its own thread: placement knows it only then
        Farm.await("later known", () -> farm.host("later").isPresent());
        Outcome.RetryLater retry = assertInstanceOf(Outcome.RetryLater.class, request("wiki"));
        assertTrue(retry.detail().contains("later: not connected"), retry.detail());
    }

    @Test
    void aVmGetsAtLeastTheMemoryItsImageAsksFor() {
        farm = new Farm(Map.of("vm.memoryMiB", 256), new FakeHypervisor());
        farm.manager.imageStore = realFor(List.of("wiki", "static-site"), 384);
        Outcome.Granted wiki = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        VmRecord vm = farm.table.vm(wiki.vmId()).orElseThrow();
        assertEquals(384, vm.resources().memoryMiB());
        assertEquals(384, farm.hypervisor.recorded.get(wiki.vmId()).resources().memoryMiB(), "as defined");
        assertTrue(vm.detail().startsWith("created in "), vm.detail());
        assertTrue(vm.detail().matches("created in [0-9]+ ms: image [0-9]+ ms, place [0-9]+ ms, stage [0-9]+ ms, define [0-9]+ ms, start [0-9]+ ms, boot to first answer [0-9]+ ms"), vm.detail());

        farm.manager.imageStore = realFor(List.of("wiki", "static-site"), 128);
        Outcome.Granted site = assertInstanceOf(Outcome.Granted.class, request("static-site"));
        assertEquals(256, farm.table.vm(site.vmId()).orElseThrow().resources().memoryMiB(), "the configured size");
    }
}
