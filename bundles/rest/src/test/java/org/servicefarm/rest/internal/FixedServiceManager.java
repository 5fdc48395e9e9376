package org.servicefarm.rest.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostHealth;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NotFoundException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.StateTableView;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.placement.Weigher;

/**
 * A ServiceManager test double with fixed records: answers requests through a function the
 * test sets, and records what the resources passed in. The requests may come from the HTTP
 * threads of a {@link RestStack}; each test sends one request at a time and reads after the answer.
 */
final class FixedServiceManager implements ServiceManager {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of("cve-1")), "high");
    static final Offering BLOG = new Offering("blog", "1.0",
            new Environment("alpine-3.19", "nginx-1.24", "php-8.2", List.of()), "standard");
    static final HostRecord HOST_A = new HostRecord("host-a", "libvirt", "test:///tmp/a.xml",
            new Capacity(8, 16384, 10), 0.5, "standard", Map.of("bootMillis", "500"));
    static final VmRecord WIKI_VM = new VmRecord("vm-1", "host-a", "img-wiki", WIKI,
            Map.of("wiki", new Endpoint("127.0.0.1", 20001)), VmState.ACTIVE, new Capacity(1, 512, 1),
            Instant.parse("2026-01-01T10:00:00Z"), Instant.parse("2026-01-01T10:05:00Z"), 3, null);

    /** The state table's rows: WIKI_VM unless a test says otherwise. */
    final List<VmRecord> vms = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(WIKI_VM));
    Function<ServiceRequest, Outcome> answer;
    final List<ServiceRequest> requests = new ArrayList<>();
    final List<HostRecord> registered = new ArrayList<>();
    final List<String> unregistered = new ArrayList<>();
    final List<ServiceRequest> explained = new ArrayList<>();
    final Map<String, Boolean> drained = new java.util.HashMap<>();
    final List<String> connected = new java.util.concurrent.CopyOnWriteArrayList<>();
    RuntimeException registerFailure;
    RuntimeException unregisterFailure;
    /** Thrown by {@link #hosts()} when set: a failure of the server, not of the request. */
    RuntimeException hostsFailure;
    int lastOfferingsLimit;

    FixedServiceManager() {
        reset();
    }

    /** Back to the fixed records and no recorded calls, for the next test on the same stack. */
    void reset() {
        answer = request -> new Outcome.Never("no rule", Duration.ZERO);
        requests.clear();
        explained.clear();
        drained.clear();
        connected.clear();
        registered.clear();
        unregistered.clear();
        registerFailure = null;
        unregisterFailure = null;
        hostsFailure = null;
        lastOfferingsLimit = -1;
    }

    @Override
    public Outcome request(ServiceRequest request) {
        requests.add(request);
        return answer.apply(request);
    }

    /** Answers on another thread, a little later, as the real manager does for a request that waits for a VM. */
    @Override
    public CompletionStage<Outcome> requestAsync(ServiceRequest request) {
        return CompletableFuture.supplyAsync(() -> request(request),
                CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS));
    }

    @Override
    public DirectoryView directory() {
        return new DirectoryView() {
            @Override
            public Resolution resolve(ServiceRequest request) {
                return new Resolution.Viable(WIKI, List.of());
            }

            @Override
            public List<Offering> offerings(int limit) {
                lastOfferingsLimit = limit;
                return List.of(WIKI, BLOG).subList(0, Math.min(limit, 2));
            }

            @Override
            public List<CatalogComponent> components() {
                return List.of(new CatalogComponent(CatalogComponent.Kind.APPLICATION, "wiki", "2.1"),
                        new CatalogComponent(CatalogComponent.Kind.OS, "debian-12", null));
            }

            @Override
            public List<String> rules() {
                return List.of("app:wiki requires runtime:php-8.2");
            }

            @Override
            public List<String> securityLevels() {
                return List.of("standard", "high");
            }
        };
    }

    @Override
    public StateTableView stateTable() {
        return new StateTableView() {
            @Override
            public List<VmRecord> vms() {
                return List.copyOf(vms);
            }

            @Override
            public Optional<VmRecord> vm(String id) {
                return WIKI_VM.id().equals(id) ? Optional.of(WIKI_VM) : Optional.empty();
            }

            @Override
            public List<VmRecord> offering(Offering offering) {
                return WIKI.equals(offering) ? List.of(WIKI_VM) : List.of();
            }
        };
    }

    @Override
    public List<HostStatus> hosts() {
        if (hostsFailure != null) {
            throw hostsFailure;
        }
        return List.of(new HostStatus(HOST_A, new Capacity(2, 4096, 5), true, null));
    }

    @Override
    public HostStatus registerHost(HostRecord host) {
        if (registerFailure != null) {
            throw registerFailure;
        }
        if (host.name().equals(HOST_A.name())) {
            throw new ConflictException("a host named host-a exists");
        }
        registered.add(host);
        return new HostStatus(host, Capacity.ZERO, false, "connecting");
    }

    @Override
    public Explanation explain(ServiceRequest request) {
        explained.add(request);
        PlacementExplanation placement = new PlacementExplanation("least-loaded", 3, 2,
                List.of(new PlacementExplanation.Removal("security-zone", 1, "zone high is not admitted")),
                List.of(new Candidate(new HostStatus(HOST_A, new Capacity(2, 4096, 5), true, null), 0.75,
                        Map.of(Weigher.LOAD, 0.75))), "host-a", null);
        return new Explanation(WIKI, List.of("version"), "create a VM on host host-a", placement,
                new org.servicefarm.api.reuse.ReuseExplanation("default", "no ACTIVE VM offers it; a new VM is created"),
                Duration.ofMillis(3));
    }

    @Override
    public HostStatus connect(String name) {
        if (!name.equals(HOST_A.name())) {
            throw new NotFoundException("no host named " + name);
        }
        connected.add(name);
        return new HostStatus(HOST_A, new Capacity(2, 4096, 5), false,
                "cannot connect: no hypervisor answers; trying again in 5 s", false, null, Map.of());
    }

    @Override
    public HostStatus drain(String name, boolean drained) {
        if (!name.equals(HOST_A.name())) {
            throw new NotFoundException("no host named " + name);
        }
        this.drained.put(name, drained);
        return new HostStatus(HOST_A, new Capacity(2, 4096, 5), true, null, drained,
                new HostHealth(2, Instant.parse("2026-01-01T10:00:00Z"), "define: boom"),
                Map.of("standard", 5), null, new org.servicefarm.api.driver.StagingSpace(1000, 37));
    }

    @Override
    public void unregisterHost(String name) {
        if (unregisterFailure != null) {
            throw unregisterFailure;
        }
        if (!name.equals(HOST_A.name())) {
            throw new NotFoundException("no host named " + name);
        }
        unregistered.add(name);
    }
}
