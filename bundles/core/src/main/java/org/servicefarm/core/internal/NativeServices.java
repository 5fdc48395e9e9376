package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The services hosts run themselves ({@link NativeServiceConfiguration}), and which of them answer. Each is probed
 * as a VM's service is (a TCP connect and an HTTP {@code GET /}: any status but 502-504 is an answer) when it is
 * configured and every {@link #RECHECK} after, off the request path; a request is granted one only while its last
 * probe was answered, so a host that went down costs its clients at most one recheck's worth of grants. Among several
 * that answer for one offering, the one granted least since the appliance started is chosen (ties: by host name),
 * which spreads the requests evenly.
 */
@Component(service = NativeServices.class)
public class NativeServices {

    /** How often every native service is probed. */
    static final Duration RECHECK = Duration.ofSeconds(5);
    /** How long one probe may take: a service on a host of the farm's network answers in milliseconds. */
    static final Duration ATTEMPT = Duration.ofSeconds(2);
    private static final Logger LOG = LoggerFactory.getLogger(NativeServices.class);

    /** One configured native service: what it is and what its probes said. */
    private static final class Entry {
        final NativeService service;
        final AtomicLong grants = new AtomicLong();
        final AtomicBoolean probing = new AtomicBoolean();
        volatile boolean answering;
        volatile String detail = "not probed yet";
        volatile Instant since;

        Entry(NativeService service) {
            this.service = service;
        }
    }

    private final Map<NativeServiceConfiguration, Entry> entries = new ConcurrentHashMap<>();
    @Reference
    SecurityZoneFilter zones;
    @Reference
    DirectoryView directory;
    Clock clock = Clock.systemUTC();
    private volatile Readiness probe;
    private ScheduledExecutorService rechecks;

    @Activate
    void activate() {
        start(new EndpointProbe());
    }

    /** Starts probing with {@code readiness}; for tests, which may hand in their own. */
    void start(Readiness readiness) {
        probe = readiness;
        rechecks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "servicefarm-native-services");
            thread.setDaemon(true);
            return thread;
        });
        rechecks.scheduleWithFixedDelay(this::recheck, RECHECK.toMillis(), RECHECK.toMillis(), TimeUnit.MILLISECONDS);
        recheck();
    }

    /** Probes every native service now (each at most once at a time). */
    void recheck() {
        entries.values().forEach(this::probe);
    }

    @Deactivate
    void deactivate() {
        if (rechecks != null) { // started
            rechecks.shutdownNow();
            probe.close();
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, unbind = "remove")
    void add(NativeServiceConfiguration configuration) {
        Entry entry = new Entry(configuration.service());
        entries.put(configuration, entry);
        String unreachable = notInCatalog(entry.service);
        if (unreachable == null) {
            LOG.info("Native service {} at {} configured", entry.service.name(), entry.service.endpoint());
        } else {
            LOG.warn("Native service {} at {} configured, but {}", entry.service.name(), entry.service.endpoint(),
                    unreachable);
        }
        if (probe != null) {
            probe(entry);
        }
    }

    void remove(NativeServiceConfiguration configuration) {
        Entry gone = entries.remove(configuration);
        if (gone != null) {
            LOG.info("Native service {} removed", gone.service.name());
        }
    }

    /**
     * The native service a request for {@code offering} would be granted now, without counting it; empty when none
     * answers for it at its security level.
     */
    Optional<NativeService> next(Offering offering) {
        return Optional.ofNullable(choose(offering)).map(entry -> entry.service);
    }

    /** {@link #next}, counted as granted. */
    Optional<NativeService> take(Offering offering) {
        Entry chosen = choose(offering);
        if (chosen == null) {
            return Optional.empty();
        }
        chosen.grants.incrementAndGet();
        return Optional.of(chosen.service);
    }

    private Entry choose(Offering offering) {
        Entry chosen = null;
        for (Entry entry : entries.values()) {
            NativeService service = entry.service;
            if (entry.answering && service.offering().equals(offering)
                    && zones.zoneRejectionOf(service.securityZone(), offering.securityLevel()) == null
                    && (chosen == null || entry.grants.get() < chosen.grants.get()
                    || entry.grants.get() == chosen.grants.get() && service.host().compareTo(chosen.service.host()) < 0)) {
                chosen = entry;
            }
        }
        return chosen;
    }

    /**
     * Every configured native service and what its last probe said, by host, then offering; the detail says so too
     * when no request can reach it (the catalog does not offer it, or its host's zone may not serve its level).
     */
    List<NativeServiceStatus> statuses() {
        return entries.values().stream()
                .map(e -> new NativeServiceStatus(e.service, e.answering, detail(e), e.since, e.grants.get()))
                .sorted(Comparator.comparing((NativeServiceStatus s) -> s.service().host())
                        .thenComparing(s -> s.service().offering().key()))
                .toList();
    }

    private String detail(Entry entry) {
        String unreachable = notInCatalog(entry.service);
        String zone = zones.zoneRejectionOf(entry.service.securityZone(), entry.service.offering().securityLevel());
        if (zone != null) {
            unreachable = (unreachable == null ? "" : unreachable + "; ") + "it is not granted: " + zone;
        }
        String probe = entry.answering ? null : entry.detail;
        return probe == null ? unreachable : unreachable == null ? probe : probe + "; " + unreachable;
    }

    /** Why no request resolves to {@code service}'s offering (the catalog does not offer it as it is), or null. */
    private String notInCatalog(NativeService service) {
        Resolution resolution;
        try {
            resolution = directory.resolve(service.offering().toRequest());
        } catch (RuntimeException e) {
            return "the catalog cannot say whether it offers it: " + e.getMessage();
        }
        if (resolution instanceof Resolution.Viable viable) {
            return viable.offering().equals(service.offering()) ? null
                    : "no request reaches it: the catalog resolves its offering to " + viable.offering().key();
        }
        return "no request reaches it: the catalog does not offer it ("
                + ((Resolution.NotViable) resolution).reason() + ")";
    }

    private void probe(Entry entry) {
        Readiness readiness = probe;
        if (readiness == null || !entry.probing.compareAndSet(false, true)) {
            return; // one probe at a time: a slow one is not stacked behind
        }
        readiness.await(Map.of(entry.service.offering().service(), entry.service.endpoint()),
                new EndpointProbe.Timing(ATTEMPT, ATTEMPT, ATTEMPT)).whenComplete((answered, failure) -> {
            entry.probing.set(false);
            boolean answers = failure == null;
            String detail = answers ? null : describe(failure);
            boolean changed = answers != entry.answering || entry.since == null;
            entry.detail = detail;
            entry.answering = answers;
            if (changed) {
                entry.since = clock.instant();
                if (answers) {
                    LOG.info("Native service {} answers at {}: requests for it are granted there",
                            entry.service.name(), entry.service.endpoint());
                } else {
                    LOG.warn("Native service {} does not answer at {} ({}): requests for it go to VMs",
                            entry.service.name(), entry.service.endpoint(), detail);
                }
            }
        });
    }

    private static String describe(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        return cause.getMessage() == null ? cause.toString() : cause.getMessage();
    }
}
