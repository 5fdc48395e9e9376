/** Images: what VMs are made from, composed of directory components, with their files as typed artifacts. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package org.servicefarm.api.image;
