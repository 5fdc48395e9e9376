package org.servicefarm.api;

/** How a granted VM came to serve the request. */
public enum Activation {
    /** It was already running. */
    ACTIVE,
    /** It was SLEEPING and was resumed. */
    RESUMED,
    /** It was ARCHIVED and was restored from its saved state. */
    RESTORED,
    /** It was created for this request (or for one it joined). */
    CREATED
}
