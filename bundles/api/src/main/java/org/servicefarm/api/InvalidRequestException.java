package org.servicefarm.api;

/**
 * A request or a registration is malformed; nothing was changed. Front ends answer it with a 4xx
 * that names the offending {@link #field()} when there is one. The message never repeats the
 * offending value at length: it may be hostile or huge (see {@link Names#excerpt}).
 */
public class InvalidRequestException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public InvalidRequestException(String message) {
        this(null, message);
    }

    /**
     * @param field the offending field as a client names it, e.g. {@code uri} or {@code capacity.vcpus};
     *              {@code null} when the fault is not one field's
     */
    public InvalidRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The offending field, dotted for nested ones (e.g. {@code environment.os}), or {@code null}. */
    public String field() {
        return field;
    }
}
