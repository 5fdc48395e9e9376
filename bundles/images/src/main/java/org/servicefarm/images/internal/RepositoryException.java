package org.servicefarm.images.internal;

/** A component repository (its index.json or a manifest in it) that breaks the schema; the message says where. */
final class RepositoryException extends Exception {
    private static final long serialVersionUID = 1L;

    RepositoryException(String message) {
        super(message);
    }

    RepositoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
