/**
 * Keep-alive: a {@link KeepAlivePolicy} decides when a VM at rest is put to sleep, archived (in which tier) or
 * destroyed, and which combinations are worth a VM ready before their next request (pre-warming); the
 * {@link KeepAliveView} shows operators the policy in force and what it has learned of each combination.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package org.servicefarm.api.keepalive;
