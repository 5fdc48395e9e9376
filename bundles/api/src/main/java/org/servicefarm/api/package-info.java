/**
 * The records a client and an operator see, and the service manager's own face.
 * Everything here is immutable; collections are copied on construction.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.13.0")
package org.servicefarm.api;
