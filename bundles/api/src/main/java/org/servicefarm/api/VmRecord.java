package org.servicefarm.api;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One row of the state table: a VM, where it runs, what it offers and in which state it is.
 *
 * @param id         the manager's id for it, also its domain name on the host
 * @param hostId     the host it is placed on
 * @param imageId    the image it was made from
 * @param offering   the combination it offers
 * @param endpoints  where each of its services is reached, by service name
 * @param state      its state
 * @param resources  what it takes of its host
 * @param createdAt  when it was created
 * @param lastUsedAt when a request was last granted on it
 * @param grants     how many requests it has been granted for
 * @param detail     the last failure or note, or {@code null}
 * @param archive    while it is ARCHIVED (or being moved between tiers), its archive's tier and bytes; else
 *                   {@code null}
 * @param stateSince when it entered its current state (the lifecycle's timers count from it); {@code null} means
 *                   since {@code lastUsedAt}, else {@code createdAt}
 */
public record VmRecord(String id, String hostId, String imageId, Offering offering, Map<String, Endpoint> endpoints,
                       VmState state, Capacity resources, Instant createdAt, Instant lastUsedAt, long grants,
                       String detail, Archive archive, Instant stateSince) {

    /** A record with no archive, in its state since it was last used (or created). */
    public VmRecord(String id, String hostId, String imageId, Offering offering, Map<String, Endpoint> endpoints,
                    VmState state, Capacity resources, Instant createdAt, Instant lastUsedAt, long grants,
                    String detail) {
        this(id, hostId, imageId, offering, endpoints, state, resources, createdAt, lastUsedAt, grants, detail, null,
                null);
    }

    public VmRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(offering, "offering");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(resources, "resources");
        endpoints = endpoints == null ? Map.of() : Map.copyOf(endpoints);
    }

    /** The endpoint of the offering's service, or {@code null} before it has one. */
    public Endpoint endpoint() {
        return endpoints.get(offering.service());
    }

    /** When it entered its current state, as far as the record knows. */
    public Instant inStateSince() {
        return stateSince != null ? stateSince : lastUsedAt != null ? lastUsedAt : createdAt;
    }

    /**
     * Whether this VM holds its host's capacity: while it is in memory. An ARCHIVED VM does not (its host may run
     * others meanwhile); one being archived from memory still does, one whose archive is moved between tiers does not;
     * one being destroyed does as long as it was not archived.
     */
    public boolean holdsHost() {
        return switch (state) {
            case CREATING, STARTING, ACTIVE, SUSPENDING, SLEEPING, RESUMING, RESTORING -> true;
            case ARCHIVING, DESTROYING -> archive == null;
            case ARCHIVED, DESTROYED, FAILED -> false;
        };
    }

    /** When it was last granted, or created if never. */
    public Instant lastActivity() {
        return lastUsedAt != null ? lastUsedAt : createdAt;
    }

    /** This record in {@code newState}; its state-since time is kept (the state store sets it on a move). */
    public VmRecord withState(VmState newState, String newDetail) {
        return new VmRecord(id, hostId, imageId, offering, endpoints, newState, resources, createdAt, lastUsedAt,
                grants, newDetail, archive, stateSince);
    }

    public VmRecord withEndpoints(Map<String, Endpoint> newEndpoints) {
        return new VmRecord(id, hostId, imageId, offering, newEndpoints, state, resources, createdAt, lastUsedAt,
                grants, detail, archive, stateSince);
    }

    /** This record with its archive's tier and bytes, or none. */
    public VmRecord withArchive(Archive newArchive) {
        return new VmRecord(id, hostId, imageId, offering, endpoints, state, resources, createdAt, lastUsedAt,
                grants, detail, newArchive, stateSince);
    }

    /** This record on another host (relocated), with no endpoints until that host reports them. */
    public VmRecord withHost(String newHostId) {
        return new VmRecord(id, newHostId, imageId, offering, Map.of(), state, resources, createdAt, lastUsedAt,
                grants, detail, archive, stateSince);
    }

    /** This record as in its state since {@code when}. */
    public VmRecord since(Instant when) {
        return new VmRecord(id, hostId, imageId, offering, endpoints, state, resources, createdAt, lastUsedAt,
                grants, detail, archive, when);
    }

    /** This record after one more grant at {@code when}. */
    public VmRecord granted(Instant when) {
        return new VmRecord(id, hostId, imageId, offering, endpoints, state, resources, createdAt, when, grants + 1,
                detail, archive, stateSince);
    }
}
