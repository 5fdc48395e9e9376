package org.servicefarm.driver.qemu.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How this host runs QEMU directly: where the binary, the per-guest state and the checkpoints are,
 * which directories images may come from, and the hardening options. Every field is checked here,
 * once, so nothing downstream sees an unchecked value.
 *
 * @param qemuBinary      the QEMU system emulator
 * @param stateDir        one JSON state file, pid file, QMP socket and logs per guest; on a file
 *                        system that lives as long as the processes do ({@code /run/...})
 * @param checkpointDir   one directory per checkpoint (RAM file, device state, manifest)
 * @param imageRoots      directories kernels, initrds and disks may be taken from
 * @param machine         QEMU machine type; an alias such as {@code pc} is resolved to its versioned
 *                        name before a checkpoint records it, so a QEMU upgrade cannot change it
 * @param accel           QEMU accelerator ({@code tcg}: there is no usable KVM here)
 * @param cpu             QEMU CPU model and flags; the default {@code qemu64,+rdrand} gives the guest
 *                        RDRAND (emulated by TCG from the host's getrandom), so its kernel random generator
 *                        is ready at once (without it, the busybox guests had no "crng init done" after
 *                        25 s) and a clone's VM generation ID change reseeds it
 * @param bindAddress     host address the port forwards listen on
 * @param runAs           user QEMU drops to after opening its files ({@code -runas}), or {@code null}
 * @param sandbox         enable QEMU's seccomp sandbox (spawning stays allowed: {@code exec:} migration needs it)
 * @param vmGenId         give every guest a VM generation ID device ({@code -device vmgenid,guid=auto}):
 *                        a restored clone sees a new ID and Linux (5.18+) reseeds its random generator
 * @param restrictNetwork isolate the guest's user-mode network ({@code restrict=on}): port forwards
 *                        still work, but the guest cannot open connections to the host (10.0.2.2 is the
 *                        host's loopback otherwise, where the appliance itself listens) or beyond
 * @param launchTimeout   how long QEMU may take to start (until {@code -daemonize} returns)
 */
public record QemuSettings(Path qemuBinary, Path stateDir, Path checkpointDir, List<Path> imageRoots, String machine,
        String accel, String cpu, String bindAddress, String runAs, boolean sandbox, boolean vmGenId, boolean restrictNetwork,
        Duration launchTimeout) {

    public QemuSettings {
        Checks.plain("qemuBinary", qemuBinary);
        Checks.plain("stateDir", stateDir);
        Checks.plain("checkpointDir", checkpointDir);
        imageRoots = List.copyOf(imageRoots);
        if (imageRoots.isEmpty()) {
            throw new IllegalArgumentException("imageRoots must name at least one directory");
        }
        imageRoots.forEach(r -> Checks.plain("imageRoots", r));
        Checks.machine("machine", machine);
        Checks.machine("accel", accel);
        Checks.cpu("cpu", cpu);
        Checks.ipv4("bindAddress", bindAddress);
        if (runAs != null) {
            Checks.user("runAs", runAs);
        }
        if (launchTimeout == null || launchTimeout.isNegative() || launchTimeout.isZero()) {
            throw new IllegalArgumentException("launchTimeout must be positive");
        }
        // The longest socket path is <stateDir>/<48-char name>.qmp: refuse a state directory that cannot hold it.
        Checks.socket("stateDir", stateDir.resolve("x".repeat(48) + ".qmp"));
    }

    /** The defaults for this appliance: state under /run, checkpoints under /var/lib, hardening on. */
    public static QemuSettings defaults() {
        return new QemuSettings(Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/run/servicefarm/qemu"),
                Path.of("/var/lib/servicefarm/checkpoints"), List.of(Path.of("/var/lib/servicefarm/images")), "pc", "tcg",
                "qemu64,+rdrand", "127.0.0.1", null, true, true, true, Duration.ofSeconds(30));
    }

    public QemuSettings withDirectories(Path state, Path checkpoints, List<Path> images) {
        return new QemuSettings(qemuBinary, state, checkpoints, images, machine, accel, cpu, bindAddress, runAs, sandbox, vmGenId,
                restrictNetwork, launchTimeout);
    }

    public QemuSettings withMachine(String resolvedMachine) {
        return new QemuSettings(qemuBinary, stateDir, checkpointDir, imageRoots, resolvedMachine, accel, cpu, bindAddress, runAs,
                sandbox, vmGenId, restrictNetwork, launchTimeout);
    }

    public QemuSettings withRunAs(String user) {
        return new QemuSettings(qemuBinary, stateDir, checkpointDir, imageRoots, machine, accel, cpu, bindAddress, user, sandbox,
                vmGenId, restrictNetwork, launchTimeout);
    }

    public QemuSettings withQemuBinary(Path binary) {
        return new QemuSettings(binary, stateDir, checkpointDir, imageRoots, machine, accel, cpu, bindAddress, runAs, sandbox,
                vmGenId, restrictNetwork, launchTimeout);
    }

    public QemuSettings withHardening(boolean seccomp, boolean generationId, boolean restrict) {
        return new QemuSettings(qemuBinary, stateDir, checkpointDir, imageRoots, machine, accel, cpu, bindAddress, runAs, seccomp,
                generationId, restrict, launchTimeout);
    }
}
