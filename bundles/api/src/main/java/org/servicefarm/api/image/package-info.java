/** Images: what VMs are made from, composed of directory components. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.servicefarm.api.image;
