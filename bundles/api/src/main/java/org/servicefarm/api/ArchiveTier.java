package org.servicefarm.api;

/**
 * How an ARCHIVED VM's saved state is kept, each tier trading restore speed for space. The lifecycle chooses a tier
 * by the VM's age in the archive and configuration; any tier restores.
 */
public enum ArchiveTier {
    /** The hypervisor's saved state, as written: the fastest to restore. */
    SAVED,
    /** The saved state compressed (zstd): about 3x smaller, decompressed on restore. */
    COMPRESSED,
    /**
     * Only what differs from a base saved state of the same image (the image's checkpoint or first save), compressed,
     * with the image and components it came from; the rest is read from the base on restore.
     */
    DELTA;

    /**
     * The tier a setting names, in any case.
     *
     * @throws IllegalArgumentException naming the setting, the value and the tiers
     */
    public static ArchiveTier of(String setting, String name) {
        try {
            return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException(setting + " must be SAVED, COMPRESSED or DELTA, not '" + name + "'");
        }
    }
}
