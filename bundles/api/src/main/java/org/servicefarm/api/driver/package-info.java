/** Hypervisor drivers: one {@link HypervisorDriver} service per driver family, one {@link HostConnection} per host. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("3.6.0")
package org.servicefarm.api.driver;
