/** The farm's metrics as a text a front end serves as it is (REST's {@code /metrics}, the shell's farm:metrics). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.metrics;
