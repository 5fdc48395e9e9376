/** Helpful refusals: the nearest viable requests to one the directory refuses, for every front end. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.suggest;
