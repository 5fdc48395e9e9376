/**
 * A component's configuration, checked in one place: {@link ConfiguredSettings} accepts what parses and refuses the
 * rest in one log line, so that a typo never takes a component away; each refusal that stands is a registered
 * {@link RefusedConfiguration}, which the status answers list.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.servicefarm.api.config;
