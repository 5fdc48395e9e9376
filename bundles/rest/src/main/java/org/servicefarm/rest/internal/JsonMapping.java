package org.servicefarm.rest.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostHealth;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageRef;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.keepalive.KeepAliveOutlook;

/**
 * The JSON of the v1 contract's answers, in one place: the response records below, which the
 * JSON provider writes field by field (null fields are left out), and their mapping from the API
 * records. Request bodies bind to {@link RequestBody} and {@link HostRegistration}.
 */
final class JsonMapping {

    private JsonMapping() {
    }

    // ---- response shapes -------------------------------------------------------------------

    /** An offering, shaped as a request body so that it can be posted as it is. */
    record OfferingJson(String service, String version, EnvironmentJson environment, String securityLevel) {
    }

    record EnvironmentJson(String os, String server, String runtime, List<String> patches) {
    }

    record EndpointJson(String host, int port) {
    }

    record CapacityJson(int vcpus, long memoryMiB, int vms) {
    }

    /**
     * {@code filledIn}: the offering fields the directory chose because the request left them out. {@code start}: for
     * a VM CREATED for the request, BOOT or CHECKPOINT (how it came to run); null for other activations. Added last:
     * clients that do not know it are not affected.
     */
    record GrantedJson(String outcome, EndpointJson endpoint, String vmId, String hostId, String activation,
                       OfferingJson offering, List<String> filledIn, long elapsedMs, String start) {
    }

    /** {@code retryTicket}: what the retry's body sends back, so that it is not counted as a new request. */
    record RetryLaterJson(String outcome, long retryAfterSeconds, String detail, OfferingJson offering,
                          List<String> filledIn, long elapsedMs, String retryTicket) {
    }

    record OfferingsJson(List<OfferingJson> offerings) {
    }

    record ComponentJson(String kind, String name, String version) {
    }

    record ComponentsJson(List<ComponentJson> components) {
    }

    record RulesJson(List<String> rules, List<String> securityLevels) {
    }

    record VmJson(String id, String state, String host, String image, OfferingJson offering, EndpointJson endpoint,
                  Map<String, EndpointJson> endpoints, CapacityJson resources, String createdAt, String lastUsedAt,
                  long grants, String detail, ArchiveJson archive) {
    }

    /** An ARCHIVED VM's archive: its tier, its bytes on disk and the saved state's bytes it stands for. */
    record ArchiveJson(String tier, long bytes, long rawBytes) {
    }

    /** A page of VMs; {@code next} is the query of the following page, absent on the last. */
    record VmsJson(List<VmJson> vms, String next) {
    }

    /**
     * A host with its use; driver properties are left out since they may hold credentials. {@code health} is left
     * out while the host's driver has not failed since its last success; {@code staging} while its staging space
     * has not been read.
     */
    record HostJson(String name, String driver, String uri, CapacityJson capacity, CapacityJson used,
                    CapacityJson free, double load, double costPerHour, String securityZone, boolean connected,
                    String detail, double speed, boolean drained, HealthJson health,
                    Map<String, Integer> securityLevels, StagingJson staging) {
    }

    record HealthJson(int consecutiveFailures, String lastFailureAt, String lastFailure) {
    }

    /** How full the place the host stages images in was when last read; {@code usedPercent} to one decimal. */
    record StagingJson(long capacityBytes, long availableBytes, double usedPercent) {
    }

    /**
     * What {@code POST /api/v1/requests?explain=true} answers: what the manager would do, nothing done; {@code reuse}:
     * which reuse policy decided between the offering's VMs and a new one, and why.
     */
    record ExplanationJson(String outcome, OfferingJson offering, List<String> filledIn, String action,
                           ReuseJson reuse, PlacementJson placement, long elapsedMs) {
    }

    record ReuseJson(String policy, String reason) {
    }

    record PlacementJson(String strategy, int hosts, int examined, List<RemovalJson> removed,
                         List<CandidateJson> candidates, String chosen, String reason) {
    }

    record RemovalJson(String filter, int hosts, String example) {
    }

    /** {@code scores}: each weigher's own score, by weigher name. */
    record CandidateJson(String host, double score, Map<String, Double> scores) {
    }

    record HostsJson(List<HostJson> hosts) {
    }

    /**
     * A service a host runs itself: granted at {@code endpoint} while {@code answering}; {@code detail} says what the
     * last probe met when it does not; {@code since} when it began to answer or to fail.
     */
    record NativeServiceJson(String name, String host, OfferingJson offering, EndpointJson endpoint, String securityZone,
                             boolean answering, String detail, String since, long grants) {
    }

    record NativeServicesJson(List<NativeServiceJson> natives) {
    }

    /** A component of the image store's repository; {@code sizes} in bytes by artifact role. */
    record RepositoryComponentJson(String id, String kind, String name, String version, List<String> provides,
                                   List<String> needs, Map<String, Long> sizes, long sizeBytes) {
    }

    record RepositoryComponentsJson(List<RepositoryComponentJson> components) {
    }

    /** A build's progress: step of steps (doing names it), bytes of bytes, and the share done in percent. */
    record ProgressJson(int step, int steps, String doing, long bytesDone, long bytesTotal, int percent) {
    }

    /** One file of an image: what it is, its digest and size (its path on the appliance is not shown). */
    record ArtifactJson(String kind, String sha256, long sizeBytes) {
    }

    /**
     * An image: its build's state and progress, its use ({@code inUse}: live VMs made from it), and once
     * ready its files; {@code compositionOnly} images have none and {@code detail} says why.
     */
    record ImageJson(String id, OfferingJson offering, String kind, String state, ProgressJson progress,
                     long sizeBytes, List<String> components, String createdAt, String lastUsedAt, long uses,
                     int inUse, Boolean compositionOnly, List<ArtifactJson> artifacts, String kernelArgs,
                     String detail) {
    }

    record ImagesJson(List<ImageJson> images) {
    }

    /** The answer to POST /api/v1/images: the image whose build was accepted, and what the request resolved to. */
    record BuildAcceptedJson(String outcome, ImageJson image, OfferingJson offering, List<String> filledIn) {
    }

    record DemandJson(OfferingJson offering, long requests, long windowSeconds, long threshold, String prebuiltImage) {
    }

    record OutlookJson(OfferingJson offering, String lastRequest, long idleTimes, String warmFrom, String warmUntil,
                       String reading) {
    }

    /**
     * The keep-alive policy in force ({@code null}: none) and what it learned of each combination, a page at a time:
     * {@code next} is the query of the following page, absent on the last.
     */
    record KeepAliveJson(String policy, List<OutlookJson> combinations, String next) {
    }

    record PopularityJson(List<DemandJson> offerings) {
    }

    // ---- API records -> JSON ---------------------------------------------------------------

    static OfferingJson offering(Offering offering) {
        if (offering == null) {
            return null;
        }
        Environment env = offering.environment();
        return new OfferingJson(offering.service(), offering.version(),
                new EnvironmentJson(env.os(), env.server(), env.runtime(), env.patches()), offering.securityLevel());
    }

    static EndpointJson endpoint(Endpoint endpoint) {
        return endpoint == null ? null : new EndpointJson(endpoint.host(), endpoint.port());
    }

    static CapacityJson capacity(Capacity capacity) {
        return capacity == null ? null : new CapacityJson(capacity.vcpus(), capacity.memoryMiB(), capacity.vms());
    }

    static GrantedJson granted(Outcome.Granted granted) {
        return new GrantedJson("GRANTED", endpoint(granted.endpoint()), granted.vmId(), granted.hostId(),
                granted.activation().name(), offering(granted.offering()), granted.filledIn(),
                millis(granted.elapsed()), granted.start() == null ? null : granted.start().name());
    }

    static RetryLaterJson retryLater(Outcome.RetryLater retry) {
        return new RetryLaterJson("RETRY_LATER", retry.retryAfterSeconds(), retry.detail(), offering(retry.offering()),
                retry.filledIn(), millis(retry.elapsed()), retry.retryTicket());
    }

    static OfferingsJson offerings(List<Offering> offerings) {
        return new OfferingsJson(offerings.stream().map(JsonMapping::offering).toList());
    }

    static ComponentsJson components(List<CatalogComponent> components) {
        return new ComponentsJson(components.stream()
                .map(c -> new ComponentJson(c.kind().name(), c.name(), c.version())).toList());
    }

    static VmJson vm(VmRecord vm) {
        Map<String, EndpointJson> endpoints = new TreeMap<>();
        vm.endpoints().forEach((service, endpoint) -> endpoints.put(service, endpoint(endpoint)));
        return new VmJson(vm.id(), vm.state().name(), vm.hostId(), vm.imageId(), offering(vm.offering()),
                endpoint(vm.endpoint()), endpoints, capacity(vm.resources()), instant(vm.createdAt()),
                instant(vm.lastUsedAt()), vm.grants(), vm.detail(),
                vm.archive() == null ? null : new ArchiveJson(vm.archive().tier().name(), vm.archive().bytes(),
                        vm.archive().rawBytes()));
    }

    static VmsJson vms(List<VmRecord> vms, String next) {
        return new VmsJson(vms.stream().map(JsonMapping::vm).toList(), next);
    }

    static HostJson host(HostStatus status) {
        HostRecord host = status.host();
        return new HostJson(host.name(), host.driver(), host.uri(), capacity(host.capacity()), capacity(status.used()),
                capacity(status.free()), status.load(), host.costPerHour(), host.securityZone(), status.connected(),
                status.detail(), host.speed(), status.drained(), health(status.health()),
                new TreeMap<>(status.securityLevels()), staging(status.staging()));
    }

    private static StagingJson staging(StagingSpace space) {
        return space == null ? null : new StagingJson(space.capacityBytes(), space.availableBytes(),
                Math.round(space.usedPercent() * 10) / 10.0);
    }

    private static HealthJson health(HostHealth health) {
        return health.consecutiveFailures() == 0 ? null : new HealthJson(health.consecutiveFailures(),
                instant(health.lastFailureAt()), health.lastFailure());
    }

    static ExplanationJson explanation(Explanation explanation) {
        PlacementExplanation p = explanation.placement();
        PlacementJson placement = p == null ? null : new PlacementJson(p.strategy(), p.hosts(), p.examined(),
                p.removed().stream().map(r -> new RemovalJson(r.filter(), r.hosts(), r.example())).toList(),
                p.candidates().stream().map(JsonMapping::candidate).toList(), p.chosen(), p.reason());
        ReuseJson reuse = explanation.reuse() == null ? null
                : new ReuseJson(explanation.reuse().policy(), explanation.reuse().reason());
        return new ExplanationJson("EXPLAINED", offering(explanation.offering()), explanation.filledIn(),
                explanation.action(), reuse, placement, millis(explanation.elapsed()));
    }

    private static CandidateJson candidate(Candidate candidate) {
        Map<String, Double> scores = new TreeMap<>();
        candidate.scores().forEach((weigher, score) -> scores.put(weigher.key(), score));
        return new CandidateJson(candidate.name(), candidate.score(), scores);
    }

    static NativeServicesJson natives(List<NativeServiceStatus> natives) {
        return new NativeServicesJson(natives.stream().map(JsonMapping::nativeService).toList());
    }

    static NativeServiceJson nativeService(NativeServiceStatus n) {
        return new NativeServiceJson(n.service().name(), n.service().host(), offering(n.service().offering()),
                endpoint(n.service().endpoint()), n.service().securityZone(), n.answering(), n.detail(),
                instant(n.since()), n.grants());
    }

    static HostsJson hosts(List<HostStatus> hosts) {
        return new HostsJson(hosts.stream().map(JsonMapping::host).toList());
    }

    static RepositoryComponentsJson repositoryComponents(List<ComponentInfo> components) {
        return new RepositoryComponentsJson(components.stream().map(c -> new RepositoryComponentJson(c.id(),
                c.kind().name(), c.name(), c.version(), c.provides(), c.needs(), c.sizes(), c.sizeBytes())).toList());
    }

    static ImageJson image(ImageStatus status) {
        ImageStatus.Progress p = status.progress();
        ImageRef image = status.image();
        return new ImageJson(status.id(), offering(status.offering()), status.kind().name(), status.state().name(),
                new ProgressJson(p.step(), p.steps(), p.doing(), p.bytesDone(), p.bytesTotal(),
                        (int) Math.floor(p.fraction() * 100)), status.sizeBytes(), status.components(),
                instant(status.createdAt()), instant(status.lastUsedAt()), status.uses(), status.inUse(),
                image == null ? null : image.compositionOnly(),
                image == null ? null : image.artifacts().stream()
                        .map(a -> new ArtifactJson(a.kind().name(), a.sha256(), a.sizeBytes())).toList(),
                image == null || image.kernelArgs().isEmpty() ? null : image.kernelArgs(), status.detail());
    }

    static ImagesJson images(List<ImageStatus> images) {
        return new ImagesJson(images.stream().map(JsonMapping::image).toList());
    }

    static BuildAcceptedJson accepted(BuildOutcome.Accepted accepted) {
        return new BuildAcceptedJson("ACCEPTED", image(accepted.image()), offering(accepted.offering()),
                accepted.filledIn());
    }

    static PopularityJson popularity(List<Demand> demand) {
        return new PopularityJson(demand.stream().map(d -> new DemandJson(offering(d.offering()), d.requests(),
                d.window().toSeconds(), d.threshold(), d.prebuiltImage())).toList());
    }

    static KeepAliveJson keepAlive(String policy, List<KeepAliveOutlook> outlook, String next) {
        return new KeepAliveJson(policy, outlook.stream().map(o -> new OutlookJson(offering(o.offering()),
                instant(o.lastRequest()), o.idleTimes(), instant(o.warmFrom()), instant(o.warmUntil()), o.reading()))
                .toList(), next);
    }

    private static long millis(Duration duration) {
        return duration == null ? 0 : duration.toMillis();
    }

    private static String instant(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
