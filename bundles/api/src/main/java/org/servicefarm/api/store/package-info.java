/**
 * Where VM state is kept: a {@link VmStore}, the highest-ranked one in force. The core's state machine is its only
 * writer.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.6.0")
package org.servicefarm.api.store;
