package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStore;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Popularity drives checkpoints: an offering asked for as often as the popularity threshold gets its image
 * checkpointed in the background on the hosts that restore checkpoints, and the next new VM of it is CREATED from the
 * checkpoint (the grant says so); a host that does not restore checkpoints never gets one.
 */
class CheckpointFlowTest {

    private static final Duration LONG = Duration.ofSeconds(10);
    private Farm farm;

    @AfterEach
    void stop() {
        if (farm != null) {
            farm.close();
        }
    }

    /** Real images (a kernel artifact), and the checkpoints recorded of them, by image id and host. */
    static final class CheckpointingStore implements ImageStore {
        final Map<String, ImageRef> built = new ConcurrentHashMap<>();
        final Map<String, ImageRef> checkpoints = new ConcurrentHashMap<>();
        final List<HostCheckpoint> recorded = new java.util.concurrent.CopyOnWriteArrayList<>(); // read by the test thread

        /** The image leaves the store (its eviction), and its checkpoints' records with it. */
        void evict(String imageId) {
            built.remove(imageId);
            checkpoints.keySet().removeIf(key -> key.startsWith(imageId + "@"));
        }

        @Override
        public ImageRef obtain(Offering offering) {
            ImageRef composition = ComposedImageStore.compose(offering);
            Artifact kernel = new Artifact(Artifact.Kind.KERNEL, Path.of("/nonexistent/kernel"), "0".repeat(64), 1);
            ImageRef image = new ImageRef(composition.id(), offering, ImageRef.Kind.BUILT, composition.layers(),
                    List.of(kernel), "console=ttyS0", 1, null, 0);
            built.put(image.id(), image);
            return image;
        }

        @Override
        public Optional<ImageRef> find(Offering offering) {
            return built.values().stream().filter(image -> image.offering().equals(offering)).findFirst();
        }

        @Override
        public List<ImageRef> images() {
            List<ImageRef> all = new ArrayList<>(built.values());
            all.addAll(checkpoints.values());
            return all;
        }

        @Override
        public Optional<ImageRef> checkpoint(String imageId, String host) {
            return Optional.ofNullable(checkpoints.get(imageId + "@" + host));
        }

        @Override
        public synchronized Optional<ImageRef> recordCheckpoint(HostCheckpoint checkpoint) {
            if (!built.containsKey(checkpoint.imageId())) {
                return Optional.empty();
            }
            recorded.add(checkpoint);
            Artifact state = new Artifact(Artifact.Kind.CHECKPOINT, checkpoint.manifest(), checkpoint.sha256(), 1);
            ImageRef image = new ImageRef("cp-" + checkpoint.imageId() + "@" + checkpoint.host(), null,
                    ImageRef.Kind.CHECKPOINT, List.of(), List.of(state), "", 1);
            checkpoints.put(checkpoint.imageId() + "@" + checkpoint.host(), image);
            return Optional.of(image);
        }
    }

    private Outcome.Granted grant(String service) {
        return assertInstanceOf(Outcome.Granted.class, farm.manager.request(ServiceRequest.of(service).withDeadline(LONG)));
    }

    @Test
    void requestsOverTheThresholdCheckpointTheImageAndTheNextNewVmStartsFromIt() {
        CheckpointingStore store = checkpointingFarm(3);
        farm.addHost("a-qemu", 8, 0.01, "standard", Map.of("bits", "true", "checkpoints", "true"));
        farm.addHost("b-libvirt", 8, 0.01, "standard", Map.of("bits", "true"));
        Farm.await("the real hosts connected", () -> farm.host("a-qemu").map(HostStatus::connected).orElse(false)
                && farm.host("b-libvirt").map(HostStatus::connected).orElse(false));

        Outcome.Granted first = grant("wiki");
        assertEquals(Activation.CREATED, first.activation());
        assertEquals(Outcome.Start.BOOT, first.start(), "nothing is checkpointed yet");
        Outcome.Granted second = grant("wiki");
        assertEquals(Activation.ACTIVE, second.activation());
        assertNull(second.start(), "only a created VM has a start path");
        assertEquals(Map.of(), farm.hypervisor.checkpointsByHost, "below the threshold");

        grant("wiki"); // the third: the threshold
        Farm.await("a checkpoint recorded", () -> !store.recorded.isEmpty());
        assertEquals(List.of("a-qemu"), store.recorded.stream().map(HostCheckpoint::host).toList(),
                "only the host that restores checkpoints makes one");
        assertEquals(first.offering(), farm.hypervisor.recorded.get(first.vmId()).offering());
        String imageId = farm.hypervisor.recorded.get(first.vmId()).imageId();
        assertEquals(imageId, store.recorded.get(0).imageId(), "keyed by the image the VMs boot");

        // the VM goes (its guest failed): the next request needs a new VM
        farm.hypervisor.external(first.hostId(), first.vmId(), VmState.FAILED);
        Farm.await("the failed VM to be gone", () -> farm.table.occupying().isEmpty());
        Outcome.Granted next = grant("wiki");
        assertEquals(Activation.CREATED, next.activation());
        if ("a-qemu".equals(next.hostId())) {
            assertEquals(Outcome.Start.CHECKPOINT, next.start());
            assertTrue(farm.hypervisor.fromCheckpoint.contains(next.vmId()));
            String detail = farm.table.vm(next.vmId()).orElseThrow().detail();
            assertTrue(detail.startsWith("created from checkpoint cp-" + imageId + "@a-qemu in "), detail);
            assertTrue(detail.endsWith(" ms"), detail);
        } else {
            assertEquals(Outcome.Start.BOOT, next.start(), "a host that cannot restore it boots the image");
        }
        // with that host drained, the next new VM goes to the other host, and takes the other start path
        farm.hypervisor.external(next.hostId(), next.vmId(), VmState.FAILED);
        Farm.await("that VM to be gone too", () -> farm.table.occupying().isEmpty());
        farm.hosts.drain(next.hostId(), true);
        Outcome.Granted other = grant("wiki");
        assertEquals(Activation.CREATED, other.activation());
        assertEquals("a-qemu".equals(other.hostId()) ? Outcome.Start.CHECKPOINT : Outcome.Start.BOOT, other.start(),
                other.hostId());
        assertTrue(farm.hypervisor.fromCheckpoint.contains(other.vmId()) == "a-qemu".equals(other.hostId()));
        assertEquals(List.of("a-qemu"), farm.hypervisor.checkpointsByHost.keySet().stream().toList());
    }

    /** A farm whose image store records checkpoints, with the popularity threshold given. */
    private CheckpointingStore checkpointingFarm(int threshold) {
        return checkpointingFarm(threshold, Map.of());
    }

    /** As {@link #checkpointingFarm(int)}, with the manager's configuration given. */
    private CheckpointingStore checkpointingFarm(int threshold, Map<String, Object> managerConfig) {
        farm = new Farm(managerConfig);
        CheckpointingStore store = new CheckpointingStore();
        farm.manager.imageStore = store;
        farm.popularity.imageStore = store;
        farm.checkpoints.imageStore = store;
        farm.popularity.configure(Farm.convert(Map.of("threshold", threshold), Popularity.Config.class), null);
        return store;
    }

    /** The hosts holding a recorded checkpoint (of any image), sorted. */
    private static List<String> checkpointHolders(CheckpointingStore store) {
        return store.checkpoints.keySet().stream().map(key -> key.substring(key.indexOf('@') + 1)).sorted().toList();
    }

    private void addQemuHost(String name) {
        farm.addHost(name, 8, 0.01, "standard", Map.of("bits", "true", "checkpoints", "true"));
        Farm.await(name + " connected", () -> farm.host(name).map(HostStatus::connected).orElse(false));
    }

    @Test
    void placementPrefersTheHostThatHoldsTheCheckpointOverTheStrategysChoice() {
        CheckpointingStore store = checkpointingFarm(1);
        addQemuHost("a-qemu");
        Outcome.Granted wiki = grant("wiki"); // the threshold (1): checkpointed on a-qemu, the only host
        Farm.await("a checkpoint recorded and its holder known", () -> !store.recorded.isEmpty()
                && !farm.checkpoints.holders(store.recorded.get(0).imageId()).isEmpty());
        grant("blog");
        addQemuHost("b-qemu");
        // a-qemu holds the checkpoint and one VM (blog), b-qemu nothing: by load alone b-qemu would take the next VM
        farm.hypervisor.external(wiki.hostId(), wiki.vmId(), VmState.FAILED);
        Farm.await("the wiki VM to be gone", () -> farm.table.occupying().size() == 1);
        ServiceRequest request = ServiceRequest.of("wiki").withDeadline(LONG);
        String image = store.find(wiki.offering()).orElseThrow().id();
        assertEquals(Set.of("a-qemu"), farm.checkpoints.holders(image));
        PlacementRequest placing = new PlacementRequest(wiki.offering(), "standard",
                new org.servicefarm.api.Capacity(1, 256, 1), List.of());
        assertEquals("b-qemu", farm.placement.explain(placing).chosen(), "the strategy alone");
        Explanation explained = farm.manager.explain(request);
        assertTrue(explained.action().contains("create a VM on host a-qemu"), explained.action());
        assertTrue(explained.placement().strategy().contains("preferring a host with the image's checkpoint"),
                explained.placement().strategy());

        Outcome.Granted next = grant("wiki");
        assertEquals("a-qemu", next.hostId());
        assertEquals(Outcome.Start.CHECKPOINT, next.start());
        // without room there, the strategy's choice: b-qemu boots it
        farm.hosts.drain("a-qemu", true);
        farm.hypervisor.external(next.hostId(), next.vmId(), VmState.FAILED);
        Farm.await("that VM to be gone", () -> farm.table.occupying().size() == 1);
        Outcome.Granted elsewhere = grant("wiki");
        assertEquals("b-qemu", elsewhere.hostId());
        assertEquals(Outcome.Start.BOOT, elsewhere.start());
    }

    @Test
    void anImageIsCheckpointedOnAsManyHostsAsConfiguredWhereItsVmsWouldGoNotOnEveryHost() throws Exception {
        CheckpointingStore store = checkpointingFarm(1, Map.of("checkpoint.hosts", 2));
        for (String name : List.of("a-qemu", "b-qemu", "c-qemu")) {
            addQemuHost(name);
        }
        farm.addHost("h-qemu", 8, 0.01, "high", Map.of("bits", "true", "checkpoints", "true"));
        Farm.await("h-qemu connected", () -> farm.host("h-qemu").map(HostStatus::connected).orElse(false));
        Outcome.Granted wiki = grant("wiki"); // standard security: never on the high zone's host
        // by image and host: the creation path may record one a second time while the background records it
        Farm.await("two checkpoints recorded", () -> store.checkpoints.size() == 2);
        List<String> holders = checkpointHolders(store);
        assertEquals(2, holders.size(), holders.toString());
        assertTrue(holders.stream().allMatch(h -> h.endsWith("-qemu") && !h.equals("h-qemu")), holders.toString());
        farm.checkpoints.prepare(wiki.offering()).get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(2, store.checkpoints.size(), "two hosts hold one already: none made");

        // a holder drained takes no VMs: asked again, the third standard host makes one
        farm.hosts.drain(holders.get(0), true);
        // asked until it is done: a prepare asked while another runs (the background's, after a grant) answers nothing
        Farm.await("a third holder", () -> {
            try {
                farm.checkpoints.prepare(wiki.offering()).get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return checkpointHolders(store).size() == 3;
        });
        List<String> now = checkpointHolders(store);
        assertEquals(3, now.size(), now.toString());
        String third = now.stream().filter(h -> !holders.contains(h)).findFirst().orElseThrow();
        assertTrue(!third.equals("h-qemu"), third);
    }

    /** A keep-alive policy that wants every combination it was told of checkpointed and notes what it is told. */
    private static final class CheckpointWanting implements org.servicefarm.api.keepalive.KeepAlivePolicy {
        final Set<Offering> asked = ConcurrentHashMap.newKeySet();
        final List<Context> contexts = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void requested(Offering offering, java.time.Instant at) {
            asked.add(offering);
        }

        @Override
        public Optional<Due> due(org.servicefarm.api.VmRecord vm, java.time.Instant now, double perMinute) {
            throw new AssertionError("the lifecycle asks with the VM's context");
        }

        @Override
        public Optional<Due> due(org.servicefarm.api.VmRecord vm, java.time.Instant now, Context context) {
            contexts.add(context);
            return Optional.empty();
        }

        @Override
        public List<Offering> checkpoint(java.time.Instant now) {
            return List.copyOf(asked);
        }
    }

    @Test
    void theLifecycleHasTheCheckpointsAPolicyWantsMadeAndTellsItWhetherAVmsImageIsCheckpointed() {
        // popularity checkpoints nothing; one host holds a checkpoint of an image
        CheckpointingStore store = checkpointingFarm(0, Map.of("checkpoint.hosts", 1));
        addQemuHost("a-qemu");
        addQemuHost("b-qemu");
        Lifecycle lifecycle = farm.lifecycle(Map.of());
        CheckpointWanting policy = new CheckpointWanting();
        lifecycle.bindPolicy(policy, Map.of(org.servicefarm.api.keepalive.KeepAlivePolicy.NAME, "wanting"));
        Outcome.Granted wiki = grant("wiki");
        assertEquals(Set.of(wiki.offering()), policy.asked);

        assertFalse(farm.checkpoints.anyHostMakesThem(), "not known before the checkpoints' first sweep");
        farm.checkpoints.sweep();
        assertTrue(farm.checkpoints.anyHostMakesThem());
        lifecycle.sweep();
        assertEquals(List.of(false), policy.contexts.stream().map(c -> c.checkpointed()).toList(), "none yet");
        // the store records the checkpoint just before the farm knows its holder, which is what the lifecycle reads
        Farm.await("a checkpoint made and its holder known", () -> store.recorded.size() == 1
                && !farm.checkpoints.holders(store.recorded.get(0).imageId()).isEmpty());
        String holder = store.recorded.get(0).host();
        assertTrue(!holder.equals(wiki.hostId()), "where a new VM would go: the host without one");
        lifecycle.sweep();
        assertEquals(true, policy.contexts.get(1).checkpointed());

        // held only on a host that takes no VMs now: not checkpointed for the policy, and not asked again so soon
        farm.hosts.drain(holder, true);
        lifecycle.sweep();
        assertEquals(false, policy.contexts.get(2).checkpointed(), "a drained holder starts no VM");
        assertEquals(1, store.recorded.size());
    }

    @Test
    void aHostsCheckpointIsDeletedOnceTheImageStoreNoLongerHasItsImage() {
        CheckpointingStore store = checkpointingFarm(1);
        addQemuHost("a-qemu");
        Outcome.Granted wiki = grant("wiki");
        grant("blog");
        // by image: the creation path may record one a second time while the background records it
        Farm.await("two checkpoints recorded", () -> store.checkpoints.size() == 2);
        String wikiImage = store.find(wiki.offering()).orElseThrow().id();
        farm.checkpoints.sweep();
        farm.checkpoints.sweep();
        assertEquals(2, farm.hypervisor.checkpointsByHost.get("a-qemu").size(), "both images are in the store");

        store.evict(wikiImage);
        farm.checkpoints.sweep();
        assertEquals(2, farm.hypervisor.checkpointsByHost.get("a-qemu").size(),
                "one sweep is not enough: the store may be being replaced");
        farm.checkpoints.sweep();
        assertEquals(List.of(false), farm.hypervisor.checkpointsByHost.get("a-qemu").stream()
                .map(c -> c.imageId().equals(wikiImage)).toList(), "the wiki's checkpoint is gone, blog's stays");
        assertEquals(Set.of(), farm.checkpoints.holders(wikiImage));
    }

    @Test
    void aSweepRecordsAgainTheCheckpointsAHostHoldsThatTheImageStoreForgot() {
        CheckpointingStore store = checkpointingFarm(1);
        addQemuHost("a-qemu");
        Outcome.Granted wiki = grant("wiki");
        Farm.await("a checkpoint recorded", () -> store.checkpoints.size() == 1);
        String image = store.find(wiki.offering()).orElseThrow().id();
        store.checkpoints.clear(); // the image store started again: its images found on disk, its checkpoints not
        farm.checkpoints.sweep();
        assertTrue(store.checkpoint(image, "a-qemu").isPresent(), "recorded again from what the host holds");
        assertEquals(1, farm.hypervisor.checkpointsByHost.get("a-qemu").size(), "none made again");
    }
}
