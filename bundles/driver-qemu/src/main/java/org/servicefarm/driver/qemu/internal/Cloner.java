package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

/**
 * Starts guests from a checkpoint. A clone is a new QEMU process with the template's command line
 * except for its name, its own files, its own port forwards, and its RAM: either the checkpoint's RAM
 * file mapped private ({@link Mode#COPY_ON_WRITE}: pages are read from the file on first touch and
 * copied on first write; the device state is all that is loaded) or anonymous memory filled from the
 * full state ({@link Mode#FULL}). It starts with {@code -incoming defer} and waits; {@link #restore}
 * then loads the state and resumes it. The two steps are apart so that a pool can take the first
 * ahead of demand.
 */
public final class Cloner {

    /** How a clone gets its RAM. */
    public enum Mode {
        /** Private mapping of the checkpoint's RAM file; only the device state is read. */
        COPY_ON_WRITE,
        /** Anonymous RAM read in full from {@code full.state}. */
        FULL
    }

    private final QemuLauncher launcher;

    public Cloner(QemuLauncher launcher) {
        this.launcher = launcher;
    }

    public QemuLauncher launcher() {
        return launcher;
    }

    /** The spec of a clone of {@code checkpoint} named {@code name} with {@code forwards}. */
    public GuestSpec spec(Checkpoint checkpoint, String name, List<GuestSpec.Forward> forwards, Mode mode) {
        GuestSpec.Ram ram = mode == Mode.COPY_ON_WRITE ? GuestSpec.Ram.copyOnWrite(checkpoint.ramFile())
                : GuestSpec.Ram.anonymous();
        return new GuestSpec(name, checkpoint.image(), checkpoint.memoryMiB(), checkpoint.vcpus(), ram, forwards, true);
    }

    /**
     * Starts a process that waits for {@code checkpoint}'s state.
     *
     * @throws IOException when the checkpoint cannot be restored here (another QEMU version, a command
     *         line that differs from the template's, a missing file) or QEMU does not start
     */
    public QemuGuest prepare(Checkpoint checkpoint, String name, List<GuestSpec.Forward> forwards, Mode mode,
            GuestState.Role role) throws IOException {
        check(checkpoint, mode);
        GuestSpec spec = spec(checkpoint, name, forwards, mode);
        List<String> argv = CommandLine.build(launcher.settings(), spec, GuestPaths.of(launcher.settings().stateDir(), name));
        if (!CommandLine.normalized(argv).equals(checkpoint.normalizedArgv())) {
            throw new IOException("checkpoint " + checkpoint.id() + " was made with another command line than this host"
                    + " would run (machine, devices, hardening options): template " + checkpoint.normalizedArgv()
                    + ", here " + CommandLine.normalized(argv));
        }
        return launcher.launch(spec, role, checkpoint.id());
    }

    /** Loads {@code checkpoint}'s state into a prepared process and resumes it; it becomes a {@link GuestState.Role#CLONE}. */
    public void restore(QemuGuest guest, Checkpoint checkpoint, Mode mode, Duration timeout) throws IOException {
        if (!checkpoint.id().equals(guest.state().checkpoint())) {
            // The RAM file is fixed when the process starts: another checkpoint's state would not match it.
            throw new IOException("guest " + guest.name() + " was started for checkpoint " + guest.state().checkpoint()
                    + ", not " + checkpoint.id());
        }
        boolean cow = mode == Mode.COPY_ON_WRITE;
        Migration.load(guest, cow ? checkpoint.stateFile() : checkpoint.fullStateFile(), cow, timeout);
        guest.update(guest.state().with(GuestState.Phase.RUNNING, guest.pid(), guest.state().startTicks())
                .withRole(GuestState.Role.CLONE, guest.forwards()));
    }

    /** {@link #prepare} and {@link #restore} in one go. */
    public QemuGuest clone(Checkpoint checkpoint, String name, List<GuestSpec.Forward> forwards, Mode mode,
            Duration timeout) throws IOException {
        QemuGuest guest = prepare(checkpoint, name, forwards, mode, GuestState.Role.CLONE);
        try {
            restore(guest, checkpoint, mode, timeout);
            return guest;
        } catch (IOException | RuntimeException e) {
            guest.kill();
            throw e;
        }
    }

    private void check(Checkpoint checkpoint, Mode mode) throws IOException {
        String here = launcher.qemuVersion();
        if (!here.equals(checkpoint.qemuVersion())) {
            throw new IOException("checkpoint " + checkpoint.id() + " was made by QEMU " + checkpoint.qemuVersion()
                    + "; this host runs " + here);
        }
        if (!launcher.settings().machine().equals(checkpoint.machine())) {
            throw new IOException("checkpoint " + checkpoint.id() + " runs machine " + checkpoint.machine() + "; this host "
                    + launcher.settings().machine());
        }
        if (mode == Mode.COPY_ON_WRITE && !Files.exists(checkpoint.ramFile())) {
            throw new IOException("checkpoint " + checkpoint.id() + " has no RAM file");
        }
        if (mode == Mode.FULL && !checkpoint.fullState()) {
            throw new IOException("checkpoint " + checkpoint.id() + " has no full state");
        }
    }
}
