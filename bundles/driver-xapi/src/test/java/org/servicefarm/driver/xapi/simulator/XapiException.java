package org.servicefarm.driver.xapi.simulator;

import java.util.List;

/** A failure as XAPI reports it: the error's name and its parameters, all strings. */
final class XapiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    final List<String> params;

    XapiException(String name, String... params) {
        super(name, null, false, false);
        this.params = List.of(params);
    }
}
