/** The core's implementation: not exported; other bundles see it only through org.servicefarm.api. */
package org.servicefarm.core.internal;
