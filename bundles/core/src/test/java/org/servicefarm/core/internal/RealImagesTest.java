package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementExplanation;

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
        return realFor(services, minMemoryMiB, false);
    }

    /** {@link #realFor(List, long)}, each image found as built when {@code built}, before it is obtained. */
    private static ImageStore realFor(List<String> services, long minMemoryMiB, boolean built) {
        return new ImageStore() {
            @Override
            public Optional<ImageRef> find(Offering offering) {
                return built ? Optional.of(obtain(offering)) : Optional.empty();
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

            @Override
            public Optional<String> compositionOnlyBecause(Offering offering, List<VmSpec.GuestService> guests) {
                return services.contains(offering.service()) ? Optional.empty()
                        : Optional.of("no application component '" + offering.service() + "'");
            }
        };
    }

    /** Beside the simulating hosts (small, large, vault), two that boot real guests, last in the strategy's order. */
    private void withBootingHosts(int vms) {
        farm = new Farm(Map.of(), new FakeHypervisor());
        farm.manager.imageStore = realFor(List.of("wiki", "static-site"), 0);
        for (String host : List.of("y-qemu", "z-qemu")) {
            farm.addHost(host, vms, 0.01, "standard", Map.of("bits", "true"));
            Farm.await(host + " connected", () -> farm.host(host).map(HostStatus::connected).orElse(false));
        }
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
    void anExplanationPlacesAnImageNotBuiltYetWhereItsCreationWould() {
        withBootingHosts(8);
        Explanation wiki = farm.manager.explain(ServiceRequest.of("wiki"));
        assertEquals("create a VM on host y-qemu", wiki.action(), "where guests boot, though the strategy's first "
                + "host is large");
        assertEquals(List.of(new PlacementExplanation.Removal("guest-kind", 2, "large: its guests are simulated, the image "
                + "needs booted guests")), wiki.placement().removed().stream()
                .filter(removal -> removal.filter().equals("guest-kind")).toList(), wiki.placement().toString());
        assertEquals("create a VM on host large", farm.manager.explain(ServiceRequest.of("blog")).action(),
                "a composition where guests are simulated");
        assertEquals(0, farm.hypervisor.defines.get(), "an explanation builds and places nothing");
        assertEquals("y-qemu", assertInstanceOf(Outcome.Granted.class, request("wiki")).hostId(), "as explained");

        farm.close();
        farm = new Farm(Map.of(), new FakeHypervisor(), Map.of("bits", "true"));
        assertEquals("answer NEVER: no real image: " + ComposedImageStore.REASON
                + "; every host of the farm boots real guests", farm.manager.explain(ServiceRequest.of("wiki")).action());
    }

    @Test
    void anExplanationSizesTheVmAsItsCreationWouldOnceItsImageIsBuilt() {
        farm = new Farm(Map.of("vm.memoryMiB", 256), new FakeHypervisor(), Map.of("bits", "true"));
        farm.manager.imageStore = realFor(List.of("wiki"), 384, true);
        // first in the test strategy's order (fewest VMs, then name), with room for the configured 256 MiB only
        farm.addHost("a-qemu", 8, 300, 0.01, "standard", Map.of("bits", "true"));
        Farm.await("a-qemu connected", () -> farm.host("a-qemu").map(HostStatus::connected).orElse(false));

        Explanation wiki = farm.manager.explain(ServiceRequest.of("wiki"));
        assertTrue(wiki.action().startsWith("create a VM on host ") && !wiki.action().contains("a-qemu"),
                wiki.action());
        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals(wiki.action(), "create a VM on host " + granted.hostId(), "as explained");
        assertEquals(384, farm.table.vm(granted.vmId()).orElseThrow().resources().memoryMiB());
    }

    @Test
    void aVmMovesOnlyToHostsThatRunItsImage() {
        withBootingHosts(1);
        VmRecord wiki = farm.table.vm(assertInstanceOf(Outcome.Granted.class, request("wiki")).vmId()).orElseThrow();
        assertEquals("y-qemu", wiki.hostId());
        org.servicefarm.api.InvalidRequestException refused = assertThrows(
                org.servicefarm.api.InvalidRequestException.class, () -> farm.manager.migrate(wiki.id(), "large"));
        assertEquals("host large's guests are simulated, VM " + wiki.id() + " runs where guests are booted",
                refused.getMessage());
        assertEquals(VmState.ACTIVE, farm.table.vm(wiki.id()).orElseThrow().state(), "refused, nothing changed");
        // moved by the operator to wherever placement chooses: the other host that boots guests, not large
        assertEquals("z-qemu", farm.manager.migrate(wiki.id(), null).hostId());

        // back on y-qemu, archived (it holds no room there), y-qemu takes another real VM: the wiki's restore
        // needs another host, one that boots guests, not large with all its room
        assertEquals("y-qemu", farm.manager.migrate(wiki.id(), "y-qemu").hostId());
        assertEquals("y-qemu", assertInstanceOf(Outcome.Granted.class, request("static-site")).hostId());
        Outcome.Granted back = assertInstanceOf(Outcome.Granted.class, request("wiki"));
        assertEquals(Activation.RESTORED, back.activation());
        assertEquals("z-qemu", back.hostId());
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
