package org.servicefarm.api;

/**
 * An operation this appliance's service manager does not offer (a directory appliance holds no hosts and moves no VM),
 * said so that the caller knows where to ask instead; nothing was changed. The REST API answers it 501 with its
 * message, not as an internal error: an {@link UnsupportedOperationException} of any other kind stays a fault.
 *
 * @since 1.7
 */
public class NotSupportedException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    public NotSupportedException(String message) {
        super(message);
    }
}
