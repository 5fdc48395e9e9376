package org.servicefarm.driver.qemu.internal;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts QEMU processes and finds them again after the appliance restarts.
 *
 * <p><b>Detachment.</b> QEMU runs with {@code -daemonize}: the process this JVM starts forks the real
 * QEMU, which calls {@code setsid()} (a new session, no controlling terminal, out of Karaf's process
 * group) and is re-parented to init; the first process exits once QEMU has initialised (QMP socket
 * listening, RAM mapped, pid file written) or has failed, with its error on stderr. So the launch
 * returns a ready process or a reason, the JVM holds no child and no pipe to it, and signals aimed at
 * the appliance (Ctrl-C, {@code bin/stop}, a SIGKILL of the JVM) do not reach guests.
 *
 * <p><b>Re-attachment.</b> Per guest, {@code <stateDir>/<name>.json} ({@link GuestState}) records the
 * pid, the process's start time and the exact argv; QEMU writes {@code <name>.pid} and listens on
 * {@code <name>.qmp}. {@link #recover()} reads every state file: a process with that pid, that start
 * time and that argv is attached (a QMP connection); anything else is stale and its files are removed.
 * A state file still in phase LAUNCHING (the JVM died mid-launch) is adopted through the pid file when
 * its process runs with the recorded argv.
 */
public final class QemuLauncher {

    private static final System.Logger LOG = System.getLogger(QemuLauncher.class.getName());
    private static final Pattern ALIAS = Pattern.compile("^(\\S+)\\s.*\\(alias of (\\S+)\\)\\s*$");
    private static final int LOG_TAIL = 2000;

    private final QemuSettings settings;
    private final Map<String, QemuGuest> guests = new ConcurrentHashMap<>();
    /** Names being launched or attached (so two launches cannot take one name). */
    private final Map<String, Boolean> reserved = new ConcurrentHashMap<>();
    private volatile String qemuVersion;
    private volatile Duration attachTimeout = Duration.ofSeconds(5);

    /** What {@link #recover()} found. */
    public record Recovery(List<QemuGuest> attached, List<GuestState> gone, List<String> problems) {
    }

    /** Takes {@code settings} as they are (the machine type is not resolved). */
    public QemuLauncher(QemuSettings settings) throws IOException {
        this.settings = settings;
        Files.createDirectories(settings.stateDir());
        try {
            Files.setPosixFilePermissions(settings.stateDir(), PosixFilePermissions.fromString("rwxr-x---"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to tighten
        }
    }

    /** A launcher whose machine type alias (e.g. {@code pc}) is resolved to QEMU's versioned name. */
    public static QemuLauncher create(QemuSettings settings) throws IOException {
        return new QemuLauncher(settings.withMachine(resolveMachine(settings.qemuBinary(), settings.machine())));
    }

    /** How long {@link #recover()} waits for a live guest's QMP monitor (5 s unless changed). */
    void attachTimeout(Duration timeout) {
        attachTimeout = timeout;
    }

    public QemuSettings settings() {
        return settings;
    }

    /** The guests attached now. */
    public Collection<QemuGuest> guests() {
        return List.copyOf(guests.values());
    }

    /**
     * Resolves a machine alias through {@code qemu -machine help} ({@code pc} becomes e.g.
     * {@code pc-i440fx-7.2}); a name that is no alias is returned as it is.
     */
    public static String resolveMachine(Path qemuBinary, String machine) throws IOException {
        Checks.machine("machine", machine);
        String out = run(List.of(qemuBinary.toString(), "-machine", "help"), Duration.ofSeconds(20));
        for (String line : out.split("\n")) {
            Matcher m = ALIAS.matcher(line);
            if (m.matches() && m.group(1).equals(machine)) {
                return Checks.machine("resolved machine", m.group(2));
            }
        }
        return machine;
    }

    /** The version of the QEMU binary this launcher starts (asked once). */
    public String qemuVersion() throws IOException {
        String v = qemuVersion;
        if (v == null) {
            v = version(settings.qemuBinary());
            qemuVersion = v;
        }
        return v;
    }

    /** QEMU's version ({@code 7.2.22}) from {@code qemu -version}. */
    public static String version(Path qemuBinary) throws IOException {
        String out = run(List.of(qemuBinary.toString(), "-version"), Duration.ofSeconds(20));
        Matcher m = Pattern.compile("version (\\S+)").matcher(out);
        return m.find() ? m.group(1) : "unknown";
    }

    /**
     * Starts QEMU for {@code spec} and connects to its QMP monitor.
     *
     * @param role       why it runs (recorded for recovery)
     * @param checkpoint the checkpoint it runs or waits for, or {@code null}
     * @throws IOException when QEMU fails to start (with the tail of its output), does not start within
     *         the launch timeout (it is killed), or a live guest of that name exists
     */
    public QemuGuest launch(GuestSpec spec, GuestState.Role role, String checkpoint) throws IOException {
        String name = spec.name();
        if (reserved.putIfAbsent(name, Boolean.TRUE) != null) {
            throw new IOException("guest " + name + " is being launched already");
        }
        try {
            GuestPaths paths = GuestPaths.of(settings.stateDir(), name);
            if (Files.exists(paths.state())) {
                GuestState old = readQuietly(paths.state());
                if (old != null && old.pid() > 0 && ProcInfo.alive(old.pid(), old.startTicks())) {
                    throw new IOException("guest " + name + " exists (pid " + old.pid() + ")");
                }
                removeFiles(paths);
            } else {
                removeFiles(paths);
            }
            List<String> argv = CommandLine.build(settings, spec, paths);
            GuestState state = new GuestState(name, role, GuestState.Phase.LAUNCHING, 0, 0, argv, spec.forwards(), checkpoint,
                    System.currentTimeMillis());
            state.write(paths.state());

            ProcessBuilder pb = new ProcessBuilder(argv);
            pb.environment().clear();
            // exec: migration runs /bin/sh -c "cat ...": it needs a PATH, nothing else from the JVM's environment.
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.directory(settings.stateDir().toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(paths.log().toFile()));
            Process starter = pb.start();
            boolean done = waitUninterruptibly(starter, settings.launchTimeout());
            if (!done) {
                starter.destroyForcibly();
                killFromPidFile(paths, argv);
                removeFiles(paths);
                throw new IOException("QEMU " + name + " did not start within " + settings.launchTimeout().toMillis()
                        + " ms: " + tail(paths.log()));
            }
            if (starter.exitValue() != 0) {
                String why = tail(paths.log());
                if (why.equals("(no output)")) {
                    why = "no output: the daemonized QEMU died before it was ready (a seccomp kill shows in the"
                            + " kernel log as audit type=1326)";
                }
                removeFiles(paths);
                throw new IOException("QEMU " + name + " failed to start (exit " + starter.exitValue() + "): " + why);
            }
            long pid = readPid(paths.pid());
            OptionalLong ticks = ProcInfo.startTicks(pid);
            if (pid <= 0 || ticks.isEmpty() || !ProcInfo.cmdline(pid).equals(argv)) {
                String why = tail(paths.log());
                killFromPidFile(paths, argv);
                removeFiles(paths);
                throw new IOException("QEMU " + name + " exited right after starting (pid " + pid + "): " + why);
            }
            state = state.with(spec.incoming() ? GuestState.Phase.INCOMING : GuestState.Phase.RUNNING, pid,
                    ticks.getAsLong());
            state.write(paths.state());
            QmpClient qmp;
            try {
                qmp = QmpClient.connect(paths.qmp(), Duration.ofSeconds(5), null);
            } catch (IOException e) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                removeFiles(paths);
                throw new IOException("QEMU " + name + " started (pid " + pid + ") but its QMP monitor did not answer: "
                        + e.getMessage(), e);
            }
            QemuGuest guest = new QemuGuest(this, state, paths, qmp);
            guests.put(name, guest);
            return guest;
        } finally {
            reserved.remove(name);
        }
    }

    /**
     * Finds every guest recorded in the state directory: attaches the live ones, removes the files
     * of those that are gone. Guests attached already are left as they are.
     */
    public Recovery recover() throws IOException {
        List<QemuGuest> attached = new ArrayList<>();
        List<GuestState> gone = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(settings.stateDir(), "*.json")) {
            dir.forEach(files::add);
        }
        for (Path file : files) {
            String base = file.getFileName().toString();
            String name = base.substring(0, base.length() - ".json".length());
            if (!Checks.NAME.matcher(name).matches()) {
                problems.add("ignored " + file + ": not a guest name");
                continue;
            }
            if (guests.containsKey(name) || reserved.putIfAbsent(name, Boolean.TRUE) != null) {
                continue;
            }
            try {
                GuestPaths paths = GuestPaths.of(settings.stateDir(), name);
                GuestState state;
                try {
                    state = GuestState.read(file);
                } catch (IOException e) {
                    problems.add(e.getMessage());
                    continue;
                }
                if (!state.name().equals(name)) {
                    problems.add("ignored " + file + ": it names guest " + state.name());
                    continue;
                }
                state = adoptLaunching(state, paths);
                if (state.pid() > 0 && ProcInfo.alive(state.pid(), state.startTicks())
                        && ProcInfo.cmdline(state.pid()).equals(state.argv())) {
                    try {
                        QmpClient qmp = QmpClient.connect(paths.qmp(), attachTimeout, null);
                        QemuGuest guest = new QemuGuest(this, state, paths, qmp);
                        guests.put(name, guest);
                        attached.add(guest);
                    } catch (IOException e) {
                        // Alive but no monitor: leave it alone and say so; never kill what cannot be checked.
                        problems.add("guest " + name + " (pid " + state.pid() + ") runs but its QMP monitor does not answer: "
                                + e.getMessage());
                    }
                } else {
                    removeFiles(paths);
                    gone.add(state);
                }
            } finally {
                reserved.remove(name);
            }
        }
        return new Recovery(attached, gone, problems);
    }

    /** Closes every QMP connection; the processes keep running. */
    public void detachAll() {
        for (QemuGuest guest : guests()) {
            guest.detach();
        }
    }

    /** A guest was quit or killed: forget it and remove its files. */
    void forget(QemuGuest guest) {
        guests.remove(guest.name(), guest);
        try {
            removeFiles(guest.paths());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot remove the files of " + guest.name(), e);
        }
    }

    /** A guest was detached: forget it, keep its files. */
    void release(QemuGuest guest) {
        guests.remove(guest.name(), guest);
    }

    /** A LAUNCHING state file whose process runs (the pid file names it, the argv matches) is adopted. */
    private GuestState adoptLaunching(GuestState state, GuestPaths paths) throws IOException {
        if (state.phase() != GuestState.Phase.LAUNCHING) {
            return state;
        }
        long pid = readPidQuietly(paths.pid());
        OptionalLong ticks = pid > 0 ? ProcInfo.startTicks(pid) : OptionalLong.empty();
        if (ticks.isEmpty() || !ProcInfo.cmdline(pid).equals(state.argv())) {
            return state;
        }
        boolean incoming = state.argv().contains("-incoming");
        GuestState adopted = state.with(incoming ? GuestState.Phase.INCOMING : GuestState.Phase.RUNNING, pid,
                ticks.getAsLong());
        adopted.write(paths.state());
        return adopted;
    }

    /**
     * Waits for the daemonizing QEMU to report, through an interrupt too: giving up half-way would leave
     * a QEMU that nobody recorded. The interrupt is kept for the caller to see.
     */
    private static boolean waitUninterruptibly(Process starter, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return starter.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void killFromPidFile(GuestPaths paths, List<String> argv) {
        long pid = readPidQuietly(paths.pid());
        if (pid > 0 && ProcInfo.cmdline(pid).equals(argv)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    static void removeFiles(GuestPaths paths) throws IOException {
        for (Path p : List.of(paths.qmp(), paths.pid(), paths.serial(), paths.log(), paths.state())) {
            Files.deleteIfExists(p);
        }
    }

    private static GuestState readQuietly(Path file) {
        try {
            return GuestState.read(file);
        } catch (IOException e) {
            return null;
        }
    }

    private static long readPid(Path pidFile) throws IOException {
        if (!Files.exists(pidFile)) {
            return -1;
        }
        String text = Files.readString(pidFile).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IOException("pid file " + pidFile + " holds " + Checks.excerpt(text));
        }
    }

    private static long readPidQuietly(Path pidFile) {
        try {
            return readPid(pidFile);
        } catch (IOException e) {
            return -1;
        }
    }

    static String tail(Path log) {
        try {
            if (!Files.exists(log)) {
                return "(no output)";
            }
            String text = Files.readString(log, StandardCharsets.UTF_8).trim();
            if (text.length() > LOG_TAIL) {
                text = "…" + text.substring(text.length() - LOG_TAIL);
            }
            return text.isEmpty() ? "(no output)" : text.replaceAll("[\\p{Cntrl}&&[^\n]]", "?");
        } catch (IOException e) {
            return "(output unreadable: " + e.getMessage() + ")";
        }
    }

    private static String run(List<String> argv, Duration timeout) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(argv + " did not finish within " + timeout.toMillis() + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted running " + argv, e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(argv + " exited " + p.exitValue() + ": " + new String(out, StandardCharsets.UTF_8).trim());
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
