package org.servicefarm.rest.internal;

import java.io.IOException;
import java.io.InputStream;

import org.servicefarm.api.InvalidRequestException;

/** Reads request bodies with a size cap: the API's bodies are small, and a huge one is a mistake or an attack. */
final class Bodies {

    /** Larger than any sensible request or host registration. */
    static final int MAX_BYTES = 64 * 1024;

    /** Thrown when a body exceeds {@link #MAX_BYTES}; answered with 413. */
    static final class TooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLargeException() {
            super("the request body exceeds " + MAX_BYTES + " bytes");
        }
    }

    private Bodies() {
    }

    /**
     * The body's bytes.
     *
     * @throws TooLargeException       when it exceeds {@link #MAX_BYTES}
     * @throws InvalidRequestException when it is empty
     */
    static byte[] read(InputStream in) throws IOException {
        byte[] bytes = in == null ? new byte[0] : in.readNBytes(MAX_BYTES + 1);
        if (bytes.length > MAX_BYTES) {
            throw new TooLargeException();
        }
        if (bytes.length == 0) {
            throw new InvalidRequestException("the request body is empty; a JSON object is expected");
        }
        return bytes;
    }
}
