/** The images bundle's implementation: never exported. */
package org.servicefarm.images.internal;
