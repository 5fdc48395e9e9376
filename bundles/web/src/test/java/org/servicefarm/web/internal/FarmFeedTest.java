package org.servicefarm.web.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.testing.ListedFarm;
import org.servicefarm.api.testing.ListedKeepAlive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class FarmFeedTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.26", "php-8.2", List.of()), "standard");
    static final ObjectMapper JSON = new ObjectMapper();

    record Event(String name, JsonNode data) {
    }

    final ListedFarm farm = new ListedFarm();
    final FarmFeed feed = new FarmFeed(Clock.fixed(Instant.parse("2026-11-26T04:00:00Z"), ZoneOffset.UTC));

    FarmFeedTest() {
        feed.manager = farm;
        feed.activate();
    }

    @AfterEach
    void stop() {
        feed.deactivate();
    }

    static VmRecord vm(String id, VmState state) {
        return new VmRecord(id, "alpha", "img", WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 22000)), state,
                new Capacity(1, 256, 1), Instant.EPOCH, null, 0, null);
    }

    BlockingQueue<Event> subscribe(AtomicBoolean open) {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        feed.subscribe((name, json) -> {
            if (!open.get()) {
                return false;
            }
            try {
                events.add(new Event(name, JSON.readTree(json)));
            } catch (Exception e) {
                throw new AssertionError(json, e);
            }
            return true;
        });
        return events;
    }

    static Event next(BlockingQueue<Event> events) throws InterruptedException {
        Event event = events.poll(5, TimeUnit.SECONDS);
        assertTrue(event != null, "an event within 5 s");
        return event;
    }

    @Test
    void aSubscriberGetsOneSnapshotThenDeltasInOrder() throws Exception {
        farm.hosts.add(new HostStatus(new HostRecord("alpha", "libvirt", "test:///default", new Capacity(4, 4096, 8),
                0.01, "standard", Map.of()), new Capacity(1, 256, 1), true, null));
        farm.vms.add(vm("sf-1", VmState.ACTIVE));
        farm.vms.add(vm("sf-gone", VmState.DESTROYED));
        BlockingQueue<Event> events = subscribe(new AtomicBoolean(true));

        Event snapshot = next(events);
        assertEquals("snapshot", snapshot.name());
        assertEquals("alpha", snapshot.data().at("/hosts/0/name").asText());
        assertEquals(8, snapshot.data().at("/hosts/0/vmCapacity").asInt());
        assertEquals(1, snapshot.data().path("vms").size(), "destroyed VMs are history, not drawn");
        assertEquals("ACTIVE", snapshot.data().at("/vms/0/state").asText());
        assertEquals("127.0.0.1:22000", snapshot.data().at("/vms/0/endpoint").asText());

        feed.vmChanged(vm("sf-2", VmState.CREATING));
        feed.answered(ServiceRequest.of("wiki"), new Outcome.RetryLater(Duration.ofSeconds(3), WIKI, List.of(),
                "creating", Duration.ofMillis(2000)));
        feed.vmChanged(vm("sf-2", VmState.ACTIVE));
        feed.answered(ServiceRequest.of("wiki"), new Outcome.Granted(new Endpoint("127.0.0.1", 22001), "sf-2",
                "alpha", Activation.CREATED, WIKI, List.of(), Duration.ofMillis(40)));

        Event created = next(events);
        assertEquals("vm", created.name());
        assertEquals("CREATING", created.data().path("state").asText());
        Event later = next(events);
        assertEquals("answer", later.name());
        assertEquals("RETRY_LATER", later.data().path("outcome").asText());
        assertEquals(2000, later.data().path("elapsedMs").asLong());
        assertEquals("ACTIVE", next(events).data().path("state").asText());
        Event granted = next(events);
        assertEquals("sf-2", granted.data().path("vm").asText());
        assertEquals("127.0.0.1:22001", granted.data().path("endpoint").asText());
        assertEquals("2026-11-26T04:00:00Z", granted.data().path("at").asText());

        // a later subscriber sees the answers so far in its snapshot, the newest first
        BlockingQueue<Event> second = subscribe(new AtomicBoolean(true));
        Event secondSnapshot = next(second);
        assertEquals("GRANTED", secondSnapshot.data().at("/answers/0/outcome").asText());
        assertEquals("RETRY_LATER", secondSnapshot.data().at("/answers/1/outcome").asText());
    }

    @Test
    void aClosedSubscriberIsDroppedAndHostsAreSentOnlyWhenTheyChange() throws Exception {
        AtomicBoolean open = new AtomicBoolean(true);
        BlockingQueue<Event> events = subscribe(open);
        assertEquals("snapshot", next(events).name());
        awaitSubscribers(1);

        feed.refresh();
        feed.vmChanged(vm("sf-1", VmState.SLEEPING));
        assertEquals("vm", next(events).name(), "nothing changed, so no hosts event before the VM's");

        farm.hosts.add(new HostStatus(new HostRecord("beta", "libvirt", "test:///default", new Capacity(4, 4096, 8),
                0.01, "standard", Map.of()), new Capacity(0, 0, 0), false, "down"));
        feed.refresh();
        Event hosts = next(events);
        assertEquals("hosts", hosts.name());
        assertEquals(false, hosts.data().at("/0/connected").asBoolean());

        open.set(false);
        feed.vmChanged(vm("sf-1", VmState.ACTIVE));
        awaitSubscribers(0);
    }

    @Test
    void buildsInProgressAndPopularCombinationsAreSentWhenTheyChange() throws Exception {
        List<ImageStatus> images = new CopyOnWriteArrayList<>();
        List<Demand> demand = new CopyOnWriteArrayList<>();
        feed.images = (ImageService) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ImageService.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "images" -> List.copyOf(images);
                    case "popularity" -> List.copyOf(demand);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        BlockingQueue<Event> events = subscribe(new AtomicBoolean(true));
        assertEquals(0, next(events).data().path("builds").size());
        awaitSubscribers(1);

        images.add(new ImageStatus("img-1", WIKI, ImageRef.Kind.BUILT, ImageStatus.State.BUILDING,
                new ImageStatus.Progress(2, 5, "staging nginx", 0, 0), 0, List.of(), Instant.EPOCH, null, 0, 0, null,
                null));
        images.add(new ImageStatus("img-2", WIKI, ImageRef.Kind.BUILT, ImageStatus.State.READY,
                ImageStatus.Progress.done(10), 10, List.of(), Instant.EPOCH, null, 0, 0, null, null));
        demand.add(new Demand(WIKI, 0, Duration.ofMinutes(10), 3, null));
        demand.add(new Demand(WIKI, 4, Duration.ofMinutes(10), 3, "img-2"));
        feed.refresh();

        Event builds = next(events);
        assertEquals("builds", builds.name());
        assertEquals(1, builds.data().size(), "only what is being built");
        assertEquals("staging nginx", builds.data().at("/0/doing").asText());
        assertEquals(0.4, builds.data().at("/0/fraction").asDouble());
        Event popular = next(events);
        assertEquals("popular", popular.name());
        assertEquals(1, popular.data().size(), "an offering nobody asked for is not popular");
        assertEquals(4, popular.data().at("/0/requests").asLong());
        assertTrue(popular.data().at("/0/prebuilt").asBoolean());

        feed.refresh();
        feed.vmChanged(vm("sf-1", VmState.ACTIVE));
        assertEquals("vm", next(events).name(), "unchanged builds and popularity are not sent again");
    }

    @Test
    void theKeepAlivePoliciesOutlookIsSentForTheCombinationsAskedForLast() throws Exception {
        ListedKeepAlive view = new ListedKeepAlive("adaptive");
        feed.keepAlive = view;
        BlockingQueue<Event> events = subscribe(new AtomicBoolean(true));
        JsonNode snapshot = next(events).data().path("keepalive");
        assertEquals("adaptive", snapshot.path("policy").asText());
        assertEquals(0, snapshot.path("combinations").size());
        awaitSubscribers(1);

        Instant t = Instant.parse("2026-11-26T10:00:00Z");
        for (int i = 0; i < FarmFeed.KEEP_ALIVE + 2; i++) {
            Offering offering = new Offering("app" + i, "1.0", WIKI.environment(), "standard");
            view.outlook.add(new KeepAliveOutlook(offering, t.plusSeconds(i), i, i % 2 == 0 ? null : t.plusSeconds(60),
                    i % 2 == 0 ? null : t.plusSeconds(120), "reading " + i));
        }
        feed.refresh();
        Event keepAlive = next(events);
        assertEquals("keepalive", keepAlive.name());
        JsonNode rows = keepAlive.data().path("combinations");
        assertEquals(FarmFeed.KEEP_ALIVE, rows.size(), "the most recently asked for only");
        assertEquals("reading 9", rows.at("/0/reading").asText(), "newest first");
        assertEquals("2026-11-26T10:01:00Z", rows.at("/0/warmFrom").asText());
        assertTrue(rows.at("/1/warmFrom").isNull(), "nothing planned");

        feed.refresh();
        feed.vmChanged(vm("sf-1", VmState.ACTIVE));
        assertEquals("vm", next(events).name(), "an unchanged outlook is not sent again");
    }

    @Test
    void theConfigurationsRefusedAreInTheSnapshotAndSentWhenTheyChange() throws Exception {
        RefusedConfiguration typo = new RefusedConfiguration("org.servicefarm.catalog", "rule typo needs 'requires'",
                "the settings before it stay in force", Instant.parse("2026-11-27T18:00:00Z"));
        feed.addRefusal(typo);
        BlockingQueue<Event> events = subscribe(new AtomicBoolean(true));
        JsonNode snapshot = next(events).data().path("refused");
        assertEquals(1, snapshot.size());
        assertEquals("org.servicefarm.catalog", snapshot.at("/0/pid").asText());
        assertEquals("rule typo needs 'requires'", snapshot.at("/0/reason").asText());
        assertEquals("the settings before it stay in force", snapshot.at("/0/inForce").asText());
        assertEquals("2026-11-27T18:00:00Z", snapshot.at("/0/since").asText());
        awaitSubscribers(1);

        feed.refresh();
        feed.vmChanged(vm("sf-1", VmState.ACTIVE));
        assertEquals("vm", next(events).name(), "an unchanged refusal is not sent again");
        feed.removeRefusal(typo);
        feed.refresh();
        Event mended = next(events);
        assertEquals("refused", mended.name());
        assertEquals(0, mended.data().size());
    }

    @Test
    void theServicesHostsRunThemselvesAreInTheSnapshotAndSentWhenTheyChange() throws Exception {
        Offering wiki = new Offering("wiki", "2.1", new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()),
                "standard");
        NativeService s140 = new NativeService("s140-wiki", "s140", wiki, new Endpoint("10.0.0.140", 8080), "standard");
        farm.natives.add(new NativeServiceStatus(s140, true, null, Instant.parse("2026-11-27T21:00:00Z"), 2));
        BlockingQueue<Event> events = subscribe(new AtomicBoolean(true));
        JsonNode snapshot = next(events).data().path("natives");
        assertEquals(1, snapshot.size());
        assertEquals("s140-wiki", snapshot.at("/0/name").asText());
        assertEquals("s140", snapshot.at("/0/host").asText());
        assertEquals("wiki@2.1/debian-12/nginx-1.22/php-8.2[standard]", snapshot.at("/0/offering").asText());
        assertEquals("10.0.0.140:8080", snapshot.at("/0/endpoint").asText());
        assertTrue(snapshot.at("/0/answering").asBoolean());
        assertEquals(2, snapshot.at("/0/grants").asLong());
        awaitSubscribers(1);

        feed.refresh();
        feed.vmChanged(vm("sf-1", VmState.ACTIVE));
        assertEquals("vm", next(events).name(), "unchanged: not sent again");
        farm.natives.set(0, new NativeServiceStatus(s140, false, "connection refused",
                Instant.parse("2026-11-27T21:05:00Z"), 2));
        feed.refresh();
        Event silent = next(events);
        assertEquals("natives", silent.name());
        assertFalse(silent.data().at("/0/answering").asBoolean());
        assertEquals("connection refused", silent.data().at("/0/detail").asText());
    }

    /** The feed adds a subscriber on its own thread once the snapshot is sent, and drops it there too. */
    void awaitSubscribers(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (feed.subscribers() != count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(count, feed.subscribers());
    }
}
