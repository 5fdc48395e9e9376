package org.servicefarm.web.internal;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.NotSupportedException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAliveView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What the dashboard shows, as a stream of named JSON events: a new subscriber gets one {@code snapshot} (hosts, VMs,
 * builds, popular combinations, the keep-alive policy's outlook, the latest answers, the configurations refused), then
 * deltas: {@code vm} (a row as it is now) and {@code answer} as the manager tells them ({@link FarmListener}), and
 * {@code hosts}, {@code builds}, {@code popular}, {@code keepalive}, {@code refused}, {@code natives} when they
 * differ from what was last sent (read every {@link #REFRESH}: those have no listener events; each is a few rows,
 * never the state table).
 * <p>
 * Everything is sent from one thread of this class's own: listener calls return at once, events reach every
 * subscriber in the order they happened, and a snapshot is taken on that thread, so no delta is lost between a
 * subscriber's snapshot and its first delta (a delta already in the snapshot is sent again: it is the whole row, so
 * harmless).
 */
@Component(service = {FarmListener.class, FarmFeed.class})
public class FarmFeed implements FarmListener {

    /** Receives events; answers false once it is closed, and is then dropped. */
    public interface Subscriber {
        boolean send(String event, String json);
    }

    static final Duration REFRESH = Duration.ofSeconds(2);
    /** Answers a new subscriber sees at once. */
    static final int RECENT_ANSWERS = 20;
    static final int POPULAR = 8;
    /** Combinations of the keep-alive outlook shown: the most recently asked for. */
    static final int KEEP_ALIVE = 8;

    private static final Logger LOG = LoggerFactory.getLogger(FarmFeed.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Optional and dynamic: the manager tells this listener, so a mandatory reference would be a cycle. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ServiceManager manager;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageService images;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile KeepAliveView keepAlive;
    /** The configurations refused: each component registers its refusal while it stands. */
    private final Set<RefusedConfiguration> refusals = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Clock clock;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "servicefarm-dashboard-feed");
        t.setDaemon(true);
        return t;
    });
    private final Set<Subscriber> subscribers = new CopyOnWriteArraySet<>();
    /**
     * The last answers, newest at {@code answered - 1}: a ring the request threads write without a lock or a hand-off,
     * read as rows only when a subscriber's snapshot needs them. Every warm grant passes here; with nobody watching,
     * an answer costs two writes.
     */
    private final AtomicReferenceArray<Answer> recentAnswers = new AtomicReferenceArray<>(RECENT_ANSWERS);
    private final AtomicLong answered = new AtomicLong();
    /** Subscribers whose snapshot is being sent. */
    private final java.util.concurrent.atomic.AtomicInteger joining = new java.util.concurrent.atomic.AtomicInteger();

    /** An answer as told, with when. */
    private record Answer(java.time.Instant at, ServiceRequest request, Outcome outcome) {
    }

    // only touched on the feed's thread
    private final Map<String, String> lastSent = new LinkedHashMap<>();

    public FarmFeed() {
        this(Clock.systemUTC());
    }

    FarmFeed(Clock clock) {
        this.clock = clock;
    }

    @Activate
    void activate() {
        thread.scheduleWithFixedDelay(this::refresh, REFRESH.toMillis(), REFRESH.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        thread.shutdownNow();
        subscribers.clear();
    }

    /** Sends {@code subscriber} a snapshot, then every delta until it answers false. */
    public void subscribe(Subscriber subscriber) {
        // counted at once: an event told from now on is queued behind this snapshot, never dropped as unwatched
        joining.incrementAndGet();
        run(() -> {
            try {
                if (subscriber.send("snapshot", json(snapshot()))) {
                    subscribers.add(subscriber);
                }
            } finally {
                joining.decrementAndGet();
            }
        });
    }

    /** True while nobody watches, nor is about to: events need not be prepared. */
    private boolean unwatched() {
        return subscribers.isEmpty() && joining.get() == 0;
    }

    int subscribers() {
        return subscribers.size();
    }

    @Override
    public void vmChanged(VmRecord vm) {
        if (unwatched()) {
            return; // a subscriber that comes later reads the table in its snapshot
        }
        Map<String, Object> row = vm(vm);
        run(() -> broadcast("vm", row));
    }

    @Override
    public void answered(ServiceRequest request, Outcome outcome) {
        Answer told = new Answer(clock.instant(), request, outcome);
        recentAnswers.set((int) (answered.getAndIncrement() % RECENT_ANSWERS), told);
        if (!unwatched()) {
            Map<String, Object> answer = answer(told);
            run(() -> broadcast("answer", answer));
        }
    }

    /** The recent answers as rows, newest first. */
    private List<Map<String, Object>> recentAnswers() {
        long next = answered.get();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (long i = next - 1; i >= Math.max(0, next - RECENT_ANSWERS); i--) {
            Answer told = recentAnswers.get((int) (i % RECENT_ANSWERS));
            if (told != null) {
                rows.add(answer(told));
            }
        }
        return rows;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addRefusal(RefusedConfiguration refusal) {
        refusals.add(refusal);
    }

    void removeRefusal(RefusedConfiguration refusal) {
        refusals.remove(refusal);
    }

    /** Hosts, builds and popular combinations, each sent only when it changed. */
    void refresh() {
        if (subscribers.isEmpty()) {
            lastSent.clear();
            return;
        }
        try {
            sendIfChanged("hosts", hosts());
            sendIfChanged("builds", builds());
            sendIfChanged("popular", popular());
            sendIfChanged("keepalive", keepAlive());
            sendIfChanged("refused", refused());
            sendIfChanged("natives", natives());
        } catch (RuntimeException e) {
            LOG.warn("dashboard: reading the farm failed: {}", e.toString());
        }
    }

    private void sendIfChanged(String event, Object value) {
        String text = json(value);
        if (!text.equals(lastSent.put(event, text))) {
            broadcast(event, text);
        }
    }

    private void broadcast(String event, Object value) {
        String text = value instanceof String s ? s : json(value);
        for (Subscriber subscriber : subscribers) {
            boolean open;
            try {
                open = subscriber.send(event, text);
            } catch (RuntimeException e) {
                open = false;
            }
            if (!open) {
                subscribers.remove(subscriber);
            }
        }
    }

    private void run(Runnable task) {
        try {
            thread.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.warn("dashboard: an event was not sent: {}", e.toString());
                }
            });
        } catch (RejectedExecutionException e) {
            // deactivated: nobody is listening any more
        }
    }

    Map<String, Object> snapshot() {
        Map<String, Object> snapshot = new LinkedHashMap<>();
        snapshot.put("hosts", hosts());
        ServiceManager m = manager;
        List<Map<String, Object>> vms = new ArrayList<>();
        if (m != null) {
            for (VmRecord vm : m.stateTable().vms()) {
                if (vm.state() != VmState.DESTROYED) {
                    vms.add(vm(vm));
                }
            }
        }
        snapshot.put("vms", vms);
        snapshot.put("builds", builds());
        snapshot.put("popular", popular());
        snapshot.put("keepalive", keepAlive());
        snapshot.put("answers", recentAnswers());
        snapshot.put("refused", refused());
        snapshot.put("natives", natives());
        for (String event : List.of("hosts", "builds", "popular", "keepalive", "refused", "natives")) {
            lastSent.put(event, json(snapshot.get(event)));
        }
        return snapshot;
    }

    private List<Map<String, Object>> hosts() {
        ServiceManager m = manager;
        List<Map<String, Object>> hosts = new ArrayList<>();
        if (m == null) {
            return hosts;
        }
        for (HostStatus host : m.hosts()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", host.name());
            row.put("connected", host.connected());
            row.put("drained", host.drained());
            row.put("vms", host.used().vms());
            row.put("vmCapacity", host.host().capacity().vms());
            row.put("memoryMiB", host.used().memoryMiB());
            row.put("memoryCapacityMiB", host.host().capacity().memoryMiB());
            row.put("load", Math.round(host.load() * 100) / 100.0);
            if (host.staging() != null) { // the space filter keeps new VMs off a host nearly full
                row.put("stagingUsedPercent", Math.round(host.staging().usedPercent() * 10) / 10.0);
            }
            hosts.add(row);
        }
        return hosts;
    }

    /** The services hosts run themselves; none from a manager that knows none. */
    private List<Map<String, Object>> natives() {
        ServiceManager m = manager;
        List<Map<String, Object>> natives = new ArrayList<>();
        if (m == null) {
            return natives;
        }
        List<NativeServiceStatus> statuses;
        try {
            statuses = m.natives();
        } catch (NotSupportedException e) {
            return natives;
        }
        for (NativeServiceStatus status : statuses) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", status.service().name());
            row.put("host", status.service().host());
            row.put("offering", status.service().offering().key());
            row.put("endpoint", status.service().endpoint().toString());
            row.put("answering", status.answering());
            row.put("detail", status.detail());
            row.put("grants", status.grants());
            natives.add(row);
        }
        return natives;
    }

    private List<Map<String, Object>> builds() {
        ImageService i = images;
        List<Map<String, Object>> builds = new ArrayList<>();
        if (i == null) {
            return builds;
        }
        for (ImageStatus image : i.images()) {
            if (image.state() == ImageStatus.State.BUILDING) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("id", image.id());
                row.put("offering", image.offering() == null ? null : image.offering().key());
                row.put("doing", image.progress().doing());
                row.put("step", image.progress().step());
                row.put("steps", image.progress().steps());
                row.put("fraction", Math.round(image.progress().fraction() * 100) / 100.0);
                builds.add(row);
            }
        }
        return builds;
    }

    private List<Map<String, Object>> refused() {
        List<Map<String, Object>> refused = new ArrayList<>();
        for (RefusedConfiguration r : RefusedConfiguration.latestByPid(refusals)) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("pid", r.pid());
            row.put("reason", r.reason());
            row.put("inForce", r.inForce());
            row.put("since", r.since().toString());
            refused.add(row);
        }
        return refused;
    }

    private List<Map<String, Object>> popular() {
        ImageService i = images;
        List<Map<String, Object>> popular = new ArrayList<>();
        if (i == null) {
            return popular;
        }
        i.popularity().stream().filter(d -> d.requests() > 0)
                .sorted((a, b) -> Long.compare(b.requests(), a.requests())).limit(POPULAR).forEach(d -> {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("offering", d.offering().key());
                    row.put("requests", d.requests());
                    row.put("threshold", d.threshold());
                    row.put("prebuilt", d.prebuiltImage() != null);
                    popular.add(row);
                });
        return popular;
    }

    /** The policy in force ({@code null}: none) and its outlook for the combinations asked for last. */
    private Map<String, Object> keepAlive() {
        KeepAliveView view = keepAlive;
        Map<String, Object> keepAlive = new LinkedHashMap<>();
        keepAlive.put("policy", view == null ? null : view.policy().orElse(null));
        List<Map<String, Object>> rows = new ArrayList<>();
        if (view != null) {
            view.outlook().stream().sorted(Comparator.comparing(KeepAliveOutlook::lastRequest).reversed())
                    .limit(KEEP_ALIVE).forEach(o -> {
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("offering", o.offering().key());
                        row.put("lastRequest", o.lastRequest().toString());
                        row.put("idleTimes", o.idleTimes());
                        row.put("warmFrom", o.warmFrom() == null ? null : o.warmFrom().toString());
                        row.put("warmUntil", o.warmUntil() == null ? null : o.warmUntil().toString());
                        row.put("reading", o.reading());
                        rows.add(row);
                    });
        }
        keepAlive.put("combinations", rows);
        return keepAlive;
    }

    static Map<String, Object> vm(VmRecord vm) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("id", vm.id());
        row.put("host", vm.hostId());
        row.put("service", vm.offering().service());
        row.put("offering", vm.offering().key());
        row.put("state", vm.state().name());
        Endpoint endpoint = vm.endpoint();
        row.put("endpoint", endpoint == null ? null : endpoint.host() + ":" + endpoint.port());
        row.put("grants", vm.grants());
        row.put("detail", vm.detail());
        return row;
    }

    Map<String, Object> answer(ServiceRequest request, Outcome outcome) {
        return answer(new Answer(clock.instant(), request, outcome));
    }

    private Map<String, Object> answer(Answer told) {
        ServiceRequest request = told.request();
        Outcome outcome = told.outcome();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("at", told.at().toString());
        row.put("service", request.service());
        if (outcome instanceof Outcome.Granted granted) {
            row.put("outcome", "GRANTED");
            row.put("offering", granted.offering() == null ? null : granted.offering().key());
            row.put("vm", granted.vmId());
            row.put("host", granted.hostId());
            row.put("activation", granted.activation().name());
            row.put("endpoint", granted.endpoint().host() + ":" + granted.endpoint().port());
        } else if (outcome instanceof Outcome.RetryLater later) {
            row.put("outcome", "RETRY_LATER");
            row.put("offering", later.offering() == null ? null : later.offering().key());
            row.put("detail", later.detail());
        } else {
            row.put("outcome", "NEVER");
            row.put("detail", ((Outcome.Never) outcome).reason());
        }
        row.put("elapsedMs", outcome.elapsed() == null ? null : outcome.elapsed().toMillis());
        return row;
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
