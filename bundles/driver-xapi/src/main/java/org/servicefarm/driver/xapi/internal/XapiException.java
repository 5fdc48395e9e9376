package org.servicefarm.driver.xapi.internal;

import java.util.List;
import java.util.stream.Collectors;

import org.servicefarm.api.Names;
import org.servicefarm.api.driver.HypervisorException;

/**
 * An error XAPI answered: its name ({@code VM_BAD_POWER_STATE}, {@code HANDLE_INVALID}, ...) and parameters, as
 * the pool sent them. The message repeats them as excerpts only: they come from outside.
 */
final class XapiException extends HypervisorException {

    private static final long serialVersionUID = 1L;
    static final String SESSION_INVALID = "SESSION_INVALID";
    static final String HANDLE_INVALID = "HANDLE_INVALID";
    static final String VM_BAD_POWER_STATE = "VM_BAD_POWER_STATE";
    static final String UUID_INVALID = "UUID_INVALID";

    private final String name;
    private final List<String> params;

    XapiException(String method, String name, List<String> params) {
        super(method + " failed: " + Names.excerpt(name, 64) + (params.isEmpty() ? "" : params.stream()
                .map(p -> Names.excerpt(p, 80)).collect(Collectors.joining(", ", " [", "]"))));
        this.name = name;
        this.params = List.copyOf(params);
    }

    String name() {
        return name;
    }

    List<String> params() {
        return params;
    }

    boolean is(String errorName) {
        return errorName.equals(name);
    }
}
