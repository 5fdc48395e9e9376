/**
 * Images: what VMs are made from, composed of directory components, with their files as typed artifacts. An
 * {@link ImageStore} finds or builds them; the core's {@link ImageService} shows the repository, the images and
 * their builds, and popularity.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.3.0")
package org.servicefarm.api.image;
