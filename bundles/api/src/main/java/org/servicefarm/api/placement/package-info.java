/** Placement: every {@link HostFilter} applies, then the one {@link PlacementStrategy} in force chooses. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.placement;
