/**
 * Reuse: whether a request is served by a VM the farm has (which one, and whether it is woken) or by a new one. The
 * one {@link ReusePolicy} in force decides from a {@link ReuseRequest} and answers a {@link ReuseDecision}; the core
 * carries it out.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.reuse;
