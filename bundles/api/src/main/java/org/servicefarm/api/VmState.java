package org.servicefarm.api;

/**
 * Where a VM is in its life. The four resting states are ACTIVE, SLEEPING, ARCHIVED and
 * DESTROYED; the others are transitions the manager is carrying out.
 */
public enum VmState {
    /** Being defined on its host from an image. */
    CREATING,
    /** Defined and booting; not yet answering. */
    STARTING,
    /** Running and serving. */
    ACTIVE,
    /** Being suspended in memory. */
    SUSPENDING,
    /** Suspended in memory: resumes in milliseconds. */
    SLEEPING,
    /** Coming back from SLEEPING. */
    RESUMING,
    /** Its state is being saved to disk. */
    ARCHIVING,
    /** Stopped with its state saved on disk: restores in about a second. */
    ARCHIVED,
    /** Coming back from ARCHIVED. */
    RESTORING,
    /** Being destroyed and undefined. */
    DESTROYING,
    /** Gone; kept in the table only as history. */
    DESTROYED,
    /** Something went wrong; the reason is in the record's detail. */
    FAILED;

    /** True for a state the manager is moving the VM out of by itself. */
    public boolean transitional() {
        return switch (this) {
            case CREATING, STARTING, SUSPENDING, RESUMING, ARCHIVING, RESTORING, DESTROYING -> true;
            default -> false;
        };
    }

    /** True while the VM occupies host resources (anything but DESTROYED and FAILED). */
    public boolean occupiesHost() {
        return this != DESTROYED && this != FAILED;
    }

    /** True when the VM may serve a request now or after an activation. */
    public boolean reusable() {
        return this == ACTIVE || this == SLEEPING || this == ARCHIVED;
    }
}
