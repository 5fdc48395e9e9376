package org.servicefarm.api;

/** A request or a registration is malformed; nothing was changed. Front ends answer it with a 4xx. */
public class InvalidRequestException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message) {
        super(message);
    }
}
