package org.servicefarm.core.internal;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Names;
import org.servicefarm.api.NotFoundException;
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
        /** Completes when its first probe ended: what {@link #register} waits for. */
        final CompletableFuture<Void> probed = new CompletableFuture<>();
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
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configurationAdmin;
    /** How long {@link #register} waits for its configuration to come back as a component. */
    Duration registrationWait = Duration.ofSeconds(10);
    private final Map<String, CompletableFuture<Void>> awaited = new ConcurrentHashMap<>();
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
        rechecks = Daemons.scheduler("servicefarm-native-services");
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
        Optional.ofNullable(awaited.get(entry.service.name())).ifPresent(up -> up.complete(null));
        String unreachable = notInCatalog(entry.service);
        if (unreachable == null) {
            LOG.info("Native service {} at {} configured", entry.service, entry.service.endpoint());
        } else {
            LOG.warn("Native service {} at {} configured, but {}", entry.service, entry.service.endpoint(),
                    unreachable);
        }
        if (probe != null) {
            probe(entry);
        }
    }

    void remove(NativeServiceConfiguration configuration) {
        Entry gone = entries.remove(configuration);
        if (gone != null) {
            LOG.info("Native service {} removed", gone.service);
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

    /**
     * Adds a native service as a factory configuration (persisted by Configuration Admin) and waits until it is known.
     * Checked first: its name is free regardless of case, no other runs its offering on its host, the catalog offers
     * its offering as it is, and its host's zone may serve the offering's security level; on any refusal nothing is
     * persisted. Answers once its first probe ended (at most a probe's time more), so that what it says of the service
     * answering is so.
     */
    synchronized NativeServiceStatus register(NativeService service) {
        ConfigurationAdmin cm = configurationAdmin;
        if (cm == null) {
            throw new IllegalStateException("Configuration Admin is not available: native services cannot be added now");
        }
        String name = service.name();
        try {
            for (Configuration existing : configurations(cm, "(service.factoryPid=" + NativeServiceConfiguration.FACTORY_PID
                    + ")")) {
                if (NativeServiceConfiguration.nameOf(existing.getPid()).equalsIgnoreCase(name)) {
                    throw new ConflictException("a native service named "
                            + NativeServiceConfiguration.nameOf(existing.getPid()) + " exists"
                            + " (names are unique regardless of case)");
                }
            }
            for (Entry entry : entries.values()) {
                if (entry.service.host().equalsIgnoreCase(service.host())
                        && entry.service.offering().equals(service.offering())) {
                    throw new ConflictException("host " + entry.service.host() + " runs "
                            + service.offering().key() + " as " + entry.service.name());
                }
            }
            String unreachable = notInCatalog(service);
            if (unreachable != null) {
                throw new InvalidRequestException("offering", unreachable);
            }
            String zone = zones.zoneRejectionOf(service.securityZone(), service.offering().securityLevel());
            if (zone != null) {
                throw new InvalidRequestException("securityZone", "it could never be granted: " + zone);
            }
            CompletableFuture<Void> up = awaited.computeIfAbsent(name, k -> new CompletableFuture<>());
            Configuration configuration = cm.getFactoryConfiguration(NativeServiceConfiguration.FACTORY_PID, name, "?");
            Dictionary<String, Object> properties = NativeServiceConfiguration.toProperties(service);
            properties.put(HostRegistry.ORIGIN, HostRegistry.ORIGIN_API); // shared farm-wide, unlike a file's
            configuration.update(properties);
            long deadline = System.nanoTime() + registrationWait.toNanos();
            try {
                up.get(registrationWait.toMillis(), TimeUnit.MILLISECONDS);
                for (Entry entry : entries.values()) {
                    if (entry.service.name().equals(name)) {
                        entry.probed.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    }
                }
            } catch (TimeoutException | ExecutionException e) {
                // not back yet, or not probed yet: the status below says so
            }
            return status(name).orElseThrow(() -> new IllegalStateException("native service " + name
                    + " was saved but its configuration was not accepted; see the log"));
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot save native service " + name + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while adding native service " + name);
        } finally {
            awaited.remove(name);
        }
    }

    /** Removes a native service with its configuration, from the API or a file of etc/ alike. */
    void unregister(String name) {
        ConfigurationAdmin cm = configurationAdmin;
        if (cm == null) {
            throw new IllegalStateException("Configuration Admin is not available: native services cannot be removed now");
        }
        List<Configuration> found;
        try {
            found = HostRecord.validName(name) ? configurations(cm, "(service.factoryPid="
                    + NativeServiceConfiguration.FACTORY_PID + ")").stream()
                    .filter(c -> NativeServiceConfiguration.nameOf(c.getPid()).equals(name)).toList() : List.of();
            if (found.isEmpty()) {
                throw new NotFoundException("no native service named " + Names.excerpt(name));
            }
            found.get(0).delete();
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot remove native service " + name + ": " + e.getMessage(), e);
        }
    }

    /** Whether a native service of that name is configured here (from the API or a file), regardless of case. */
    boolean configured(String name) {
        return entries.values().stream().anyMatch(e -> e.service.name().equalsIgnoreCase(name));
    }

    /** The names of the native services added through the API, here or followed from another appliance. */
    Set<String> addedThroughApi() {
        ConfigurationAdmin cm = configurationAdmin;
        Set<String> names = new java.util.TreeSet<>();
        try {
            for (Configuration configuration : cm == null ? List.<Configuration>of() : configurations(cm,
                    "(&(service.factoryPid=" + NativeServiceConfiguration.FACTORY_PID + ")(" + HostRegistry.ORIGIN
                            + "=" + HostRegistry.ORIGIN_API + "))")) {
                names.add(NativeServiceConfiguration.nameOf(configuration.getPid()));
            }
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException("cannot list the native services added through the API: "
                    + e.getMessage(), e);
        }
        return names;
    }

    /** The status of the native service named {@code name}, if it is known. */
    Optional<NativeServiceStatus> status(String name) {
        return statuses().stream().filter(s -> s.service().name().equals(name)).findFirst();
    }

    private static List<Configuration> configurations(ConfigurationAdmin cm, String filter)
            throws IOException, InvalidSyntaxException {
        Configuration[] found = cm.listConfigurations(filter);
        return found == null ? List.of() : List.of(found);
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
            boolean answers = failure == null;
            String detail = answers ? null : describe(failure);
            boolean changed = answers != entry.answering || entry.since == null;
            entry.detail = detail;
            entry.answering = answers;
            if (changed) {
                entry.since = clock.instant();
                if (answers) {
                    LOG.info("Native service {} answers at {}: requests for it are granted there",
                            entry.service, entry.service.endpoint());
                } else {
                    LOG.warn("Native service {} does not answer at {} ({}): requests for it go to VMs",
                            entry.service, entry.service.endpoint(), detail);
                }
            }
            // only now: whoever waits on the first probe reads what it found, not the state before it
            entry.probing.set(false);
            entry.probed.complete(null);
        });
    }

    private static String describe(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        return cause.getMessage() == null ? cause.toString() : cause.getMessage();
    }
}
