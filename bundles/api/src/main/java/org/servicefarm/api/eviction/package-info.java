/** Eviction: an {@link EvictionPolicy} ranks what may go when space or a cap runs out. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.servicefarm.api.eviction;
