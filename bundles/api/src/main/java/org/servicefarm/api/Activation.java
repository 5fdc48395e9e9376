package org.servicefarm.api;

/** How a granted VM came to serve the request, or that a host serves it itself. */
public enum Activation {
    /** It was already running. */
    ACTIVE,
    /** It was SLEEPING and was resumed. */
    RESUMED,
    /** It was ARCHIVED and was restored from its saved state. */
    RESTORED,
    /** It was created for this request (or for one it joined). */
    CREATED,
    /**
     * No VM: a host runs the service itself ({@link NativeService}), and the grant names that host.
     *
     * @since 1.10
     */
    NATIVE
}
