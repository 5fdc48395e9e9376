package org.servicefarm.api;

/** An operation conflicts with the current state (e.g. removing a host that runs VMs); nothing was changed. */
public class ConflictException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message) {
        super(message);
    }
}
