/**
 * Placement: every {@link HostFilter} applies, and the one {@link PlacementStrategy} in force ranks the hosts of a
 * {@link HostView}; the core takes the best host that passes the filters and reserves room there.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package org.servicefarm.api.placement;
