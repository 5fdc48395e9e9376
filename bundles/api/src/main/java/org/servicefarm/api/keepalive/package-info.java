/**
 * Keep-alive: a {@link KeepAlivePolicy} decides when a VM at rest is put to sleep, archived (in which tier) or
 * destroyed, and which combinations are worth a VM ready before their next request (pre-warming).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.servicefarm.api.keepalive;
