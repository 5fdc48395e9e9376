package org.servicefarm.driver.qemu.internal;

import java.nio.file.Path;

/**
 * The files of one guest in the state directory, all named after the guest.
 *
 * @param state  {@code NAME.json}: what the launcher knows (pid, start time, argv, role, ports)
 * @param pid    {@code NAME.pid}: written by QEMU ({@code -pidfile}), removed by QEMU when it exits
 * @param qmp    {@code NAME.qmp}: the QMP socket
 * @param serial {@code NAME.serial.log}: the guest's serial console
 * @param log    {@code NAME.log}: QEMU's own output before it daemonized (errors of a failed start)
 */
public record GuestPaths(Path state, Path pid, Path qmp, Path serial, Path log) {

    public static GuestPaths of(Path stateDir, String name) {
        Checks.name("guest name", name);
        return new GuestPaths(stateDir.resolve(name + ".json"), stateDir.resolve(name + ".pid"),
                Checks.socket("QMP socket", stateDir.resolve(name + ".qmp")), stateDir.resolve(name + ".serial.log"),
                stateDir.resolve(name + ".log"));
    }
}
