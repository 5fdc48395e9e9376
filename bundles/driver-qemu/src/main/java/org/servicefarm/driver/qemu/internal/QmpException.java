package org.servicefarm.driver.qemu.internal;

import java.io.IOException;

/** A QMP command that did not succeed: QEMU's error reply, a timeout, or a connection that closed. */
public final class QmpException extends IOException {

    private static final long serialVersionUID = 1L;

    /** Why the command failed. */
    public enum Kind {
        /** QEMU answered with an error object ({@link #errorClass()} names its class). */
        ERROR,
        /** No answer within the time allowed; the connection stays usable. */
        TIMEOUT,
        /** The connection closed (QEMU quit or died, or the client was closed) before the answer. */
        CLOSED,
        /** The peer broke the protocol (no greeting, a line that is not JSON, a line too long). */
        PROTOCOL
    }

    private final Kind kind;
    private final String command;
    private final String errorClass;

    QmpException(Kind kind, String command, String errorClass, String message) {
        super(message);
        this.kind = kind;
        this.command = command;
        this.errorClass = errorClass;
    }

    QmpException(Kind kind, String command, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.command = command;
        this.errorClass = null;
    }

    public Kind kind() {
        return kind;
    }

    /** The command that failed, or {@code null} for the connection as a whole. */
    public String command() {
        return command;
    }

    /** QEMU's error class ({@code GenericError}, {@code CommandNotFound}, ...) for {@link Kind#ERROR}. */
    public String errorClass() {
        return errorClass;
    }
}
