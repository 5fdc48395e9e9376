package org.servicefarm.api;

/**
 * What a host's guests are. A host says it once connected ({@code HostConnection#needsArtifacts}); an image that is a
 * composition only can run only where guests are simulated, and a real image goes where guests boot as soon as the
 * farm has such hosts (a simulating host would only pretend to serve it).
 */
public enum GuestKind {
    /** Guests are simulated (libvirt's test driver): no artifact is booted, a composition is enough. */
    SIMULATED,
    /** Guests boot from the image's artifacts (QEMU). */
    BOOTED;

    /** The kind of a host whose connection does or does not need artifacts. */
    public static GuestKind of(boolean needsArtifacts) {
        return needsArtifacts ? BOOTED : SIMULATED;
    }
}
