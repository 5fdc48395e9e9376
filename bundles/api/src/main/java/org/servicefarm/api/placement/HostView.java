package org.servicefarm.api.placement;

import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.HostStatus;

/**
 * The hosts a placement may choose from, read only, as the core's index holds them: by name, by zone, and in the
 * order of any blend of {@link Weigher}s, without walking every host. Only the zones every {@link HostFilter} admits
 * for the request are in view. A view is for one decision; the hosts' use may change while it is read, and the core
 * checks every filter again on the host's latest state when it reserves room there.
 */
@ProviderType
public interface HostView {

    /** How many hosts are in view. */
    int size();

    /** The security zones of the hosts in view. */
    Set<String> zones();

    /** The host of that name, if it is in view. */
    Optional<HostStatus> host(String name);

    /**
     * The hosts in view best first by the blend of {@code weights} for {@code request} (the lowest weighted mean
     * penalty, i.e. the highest {@link Candidate#score}); equal scores go by host name. Drawn lazily: a draw looks at
     * a few hosts per weigher (Fagin's threshold algorithm over the weighers' indexes), not at every host, and hosts
     * that cannot hold the request's demand are left out early where the indexes tell.
     */
    Iterator<Candidate> ranked(Weights weights, PlacementRequest request);
}
