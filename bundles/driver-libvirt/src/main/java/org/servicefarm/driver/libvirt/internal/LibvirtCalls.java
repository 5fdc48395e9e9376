package org.servicefarm.driver.libvirt.internal;

import java.util.function.BooleanSupplier;

import org.libvirt.LibvirtException;
import org.servicefarm.api.driver.HypervisorException;

/**
 * Calls into one host's libvirt connection: refused once the connection is closed, and every failure turned into a
 * {@link HypervisorException} naming the host, the operation and its object, in words {@link LibvirtErrors} allows.
 */
final class LibvirtCalls {

    @FunctionalInterface
    interface LibvirtCall<T> {
        T call() throws LibvirtException;
    }

    @FunctionalInterface
    interface LibvirtAction {
        void run() throws LibvirtException;
    }

    private final String hostName;
    private final BooleanSupplier closed;

    LibvirtCalls(String hostName, BooleanSupplier closed) {
        this.hostName = hostName;
        this.closed = closed;
    }

    String hostName() {
        return hostName;
    }

    /** Runs {@code call}; {@code what} and {@code object} name it in the failure, e.g. "start", "vm-1". */
    <T> T call(String what, String object, LibvirtCall<T> call) throws HypervisorException {
        ensureOpen();
        try {
            return call.call();
        } catch (LibvirtException e) {
            throw failure(what, object, e);
        }
    }

    void run(String what, String object, LibvirtAction action) throws HypervisorException {
        call(what, object, () -> {
            action.run();
            return null;
        });
    }

    void ensureOpen() throws HypervisorException {
        if (closed.getAsBoolean()) {
            throw new HypervisorException("the connection to host " + hostName + " is closed");
        }
    }

    HypervisorException failure(String what, String object, LibvirtException e) {
        return new HypervisorException("host " + hostName + ": " + what + " " + object + " failed: "
                + LibvirtErrors.describe(e), e);
    }
}
