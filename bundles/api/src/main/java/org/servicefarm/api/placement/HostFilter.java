package org.servicefarm.api.placement;

import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.HostStatus;

/** A hard placement constraint. Every registered filter applies; a host any filter rejects is not a candidate. */
@ConsumerType
public interface HostFilter {

    /** Service property (String): the filter's name, shown in explanations. */
    String NAME = "filter.name";

    /** Empty if {@code host} may take the VM, otherwise the reason it may not. */
    Optional<String> reject(HostStatus host, PlacementRequest request);
}
