package org.servicefarm.rest.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Every mapping between the API records and the JSON of the v1 contract, in one place: JSON
 * bodies to {@link ServiceRequest} and {@link HostRecord} (strictly: unknown fields, wrong types
 * and bad values are {@link InvalidRequestException}s), and API records to the response records
 * below, which the mapper writes field by field (null fields are left out).
 */
final class JsonMapping {

    private static final Set<String> REQUEST_FIELDS =
            Set.of("service", "version", "environment", "securityLevel", "tier", "deadlineMs");
    private static final Set<String> ENVIRONMENT_FIELDS = Set.of("os", "server", "runtime", "patches");
    private static final Set<String> HOST_FIELDS =
            Set.of("name", "driver", "uri", "capacity", "costPerHour", "securityZone", "properties");
    private static final Set<String> CAPACITY_FIELDS = Set.of("vcpus", "memoryMiB", "vms");

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

    /** {@code filledIn}: the offering fields the directory chose because the request left them out. */
    record GrantedJson(String outcome, EndpointJson endpoint, String vmId, String hostId, String activation,
                       OfferingJson offering, List<String> filledIn, long elapsedMs) {
    }

    record RetryLaterJson(String outcome, long retryAfterSeconds, String detail, OfferingJson offering,
                          List<String> filledIn, long elapsedMs) {
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
                  long grants, String detail) {
    }

    record VmsJson(List<VmJson> vms) {
    }

    /** A host with its use; driver properties are left out since they may hold credentials. */
    record HostJson(String name, String driver, String uri, CapacityJson capacity, CapacityJson used,
                    CapacityJson free, double load, double costPerHour, String securityZone, boolean connected,
                    String detail) {
    }

    record HostsJson(List<HostJson> hosts) {
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

    static GrantedJson granted(ServiceRequest request, Outcome.Granted granted) {
        return new GrantedJson("GRANTED", endpoint(granted.endpoint()), granted.vmId(), granted.hostId(),
                granted.activation().name(), offering(granted.offering()), granted.filledIn(),
                millis(granted.elapsed()));
    }

    static RetryLaterJson retryLater(ServiceRequest request, Outcome.RetryLater retry) {
        return new RetryLaterJson("RETRY_LATER", retry.retryAfterSeconds(), retry.detail(), offering(retry.offering()),
                retry.filledIn(), millis(retry.elapsed()));
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
                instant(vm.lastUsedAt()), vm.grants(), vm.detail());
    }

    static VmsJson vms(List<VmRecord> vms) {
        return new VmsJson(vms.stream().map(JsonMapping::vm).toList());
    }

    static HostJson host(HostStatus status) {
        HostRecord host = status.host();
        return new HostJson(host.name(), host.driver(), host.uri(), capacity(host.capacity()), capacity(status.used()),
                capacity(status.free()), status.load(), host.costPerHour(), host.securityZone(), status.connected(),
                status.detail());
    }

    static HostsJson hosts(List<HostStatus> hosts) {
        return new HostsJson(hosts.stream().map(JsonMapping::host).toList());
    }

    private static long millis(Duration duration) {
        return duration == null ? 0 : duration.toMillis();
    }

    private static String instant(Instant instant) {
        return instant == null ? null : instant.toString();
    }

    // ---- JSON -> API records ---------------------------------------------------------------

    /** The body of POST /api/v1/requests as a request; only {@code service} is required. */
    static ServiceRequest serviceRequest(JsonNode body) {
        requireObject(body, "the request body");
        checkFields(body, REQUEST_FIELDS, "");
        String service = text(body, "service", "");
        if (service == null || service.isBlank()) {
            throw new InvalidRequestException("service is required: the name of an application, e.g. "
                    + "{\"service\":\"wiki\"}");
        }
        Environment environment = Environment.ANY;
        JsonNode env = body.get("environment");
        if (env != null && !env.isNull()) {
            requireObject(env, "environment");
            checkFields(env, ENVIRONMENT_FIELDS, "environment.");
            environment = new Environment(text(env, "os", "environment."), text(env, "server", "environment."),
                    text(env, "runtime", "environment."), patches(env.get("patches")));
        }
        Long deadlineMs = wholeNumber(body, "deadlineMs", "");
        if (deadlineMs != null && deadlineMs < 0) {
            throw new InvalidRequestException("deadlineMs must not be negative: " + deadlineMs);
        }
        return new ServiceRequest(service, text(body, "version", ""), environment, text(body, "securityLevel", ""),
                text(body, "tier", ""), deadlineMs == null ? null : Duration.ofMillis(deadlineMs));
    }

    /** The body of POST /api/v1/hosts as a host record; the record checks the name, driver, uri and cost. */
    static HostRecord hostRecord(JsonNode body) {
        requireObject(body, "the request body");
        checkFields(body, HOST_FIELDS, "");
        JsonNode capacityNode = body.get("capacity");
        if (capacityNode == null || capacityNode.isNull()) {
            throw new InvalidRequestException("capacity is required: {\"vcpus\":N,\"memoryMiB\":N,\"vms\":N}");
        }
        requireObject(capacityNode, "capacity");
        checkFields(capacityNode, CAPACITY_FIELDS, "capacity.");
        Capacity capacity = new Capacity(
                toInt(requiredCount(capacityNode, "vcpus"), "capacity.vcpus"),
                requiredCount(capacityNode, "memoryMiB"),
                toInt(requiredCount(capacityNode, "vms"), "capacity.vms"));
        JsonNode cost = body.get("costPerHour");
        double costPerHour = 0;
        if (cost != null && !cost.isNull()) {
            if (!cost.isNumber()) {
                throw new InvalidRequestException("costPerHour must be a number, not " + describe(cost));
            }
            costPerHour = cost.doubleValue();
        }
        return new HostRecord(text(body, "name", ""), text(body, "driver", ""), text(body, "uri", ""), capacity,
                costPerHour, text(body, "securityZone", ""), properties(body.get("properties")));
    }

    private static void requireObject(JsonNode node, String what) {
        if (!node.isObject()) {
            throw new InvalidRequestException(what + " must be a JSON object, not " + describe(node));
        }
    }

    private static void checkFields(JsonNode object, Set<String> known, String prefix) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new InvalidRequestException("unknown field " + prefix + name + "; known fields are "
                        + new java.util.TreeSet<>(known).stream().map(f -> prefix + f).toList());
            }
        }
    }

    private static String text(JsonNode object, String field, String prefix) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidRequestException(prefix + field + " must be a string, not " + describe(value));
        }
        return value.textValue();
    }

    private static Long wholeNumber(JsonNode object, String field, String prefix) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new InvalidRequestException(prefix + field + " must be a whole number, not " + describe(value));
        }
        return value.longValue();
    }

    private static long requiredCount(JsonNode capacity, String field) {
        Long value = wholeNumber(capacity, field, "capacity.");
        if (value == null) {
            throw new InvalidRequestException("capacity." + field + " is required");
        }
        if (value < 0) {
            throw new InvalidRequestException("capacity." + field + " must not be negative: " + value);
        }
        return value;
    }

    private static int toInt(long value, String field) {
        if (value > Integer.MAX_VALUE) {
            throw new InvalidRequestException(field + " is too large: " + value);
        }
        return (int) value;
    }

    private static List<String> patches(JsonNode patches) {
        if (patches == null || patches.isNull()) {
            return List.of();
        }
        if (!patches.isArray()) {
            throw new InvalidRequestException("environment.patches must be an array of strings, not "
                    + describe(patches));
        }
        List<String> names = new ArrayList<>();
        for (JsonNode patch : patches) {
            if (!patch.isTextual() || patch.textValue().isBlank()) {
                throw new InvalidRequestException("environment.patches must hold non-empty strings, not "
                        + describe(patch));
            }
            names.add(patch.textValue());
        }
        return names;
    }

    private static Map<String, String> properties(JsonNode properties) {
        if (properties == null || properties.isNull()) {
            return Map.of();
        }
        requireObject(properties, "properties");
        Map<String, String> result = new LinkedHashMap<>();
        properties.fields().forEachRemaining(entry -> {
            JsonNode value = entry.getValue();
            if (!value.isValueNode() || value.isNull()) {
                throw new InvalidRequestException("properties." + entry.getKey()
                        + " must be a string, number or boolean, not " + describe(value));
            }
            result.put(entry.getKey(), value.asText());
        });
        return result;
    }

    /** Names a JSON value's type for an error message, without echoing the client's data back. */
    private static String describe(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case BOOLEAN -> "a boolean";
            case NUMBER -> "the number " + node.asText();
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
