/** Directory front ends: the ways clients reach the directory (REST, DNS SRV). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.frontend;
