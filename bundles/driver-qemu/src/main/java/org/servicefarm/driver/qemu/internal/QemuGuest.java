package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One QEMU process the launcher started or found again, and its QMP connection. The process is not
 * a child of this JVM ({@code -daemonize}): it outlives the appliance, and is told apart from a
 * recycled pid by its start time.
 */
public final class QemuGuest implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(QemuGuest.class.getName());

    private final QemuLauncher launcher;
    private final GuestPaths paths;
    private final QmpClient qmp;
    private volatile GuestState state;

    QemuGuest(QemuLauncher launcher, GuestState state, GuestPaths paths, QmpClient qmp) {
        this.launcher = launcher;
        this.state = state;
        this.paths = paths;
        this.qmp = qmp;
    }

    public String name() {
        return state.name();
    }

    public long pid() {
        return state.pid();
    }

    public GuestState state() {
        return state;
    }

    public GuestPaths paths() {
        return paths;
    }

    public QmpClient qmp() {
        return qmp;
    }

    public List<GuestSpec.Forward> forwards() {
        return state.forwards();
    }

    /** The host port forwarded to {@code guestPort}, if any. */
    public Optional<Integer> hostPort(int guestPort) {
        return state.forwards().stream().filter(f -> f.guestPort() == guestPort).map(GuestSpec.Forward::hostPort).findFirst();
    }

    /** True while the process runs (same pid, same start time, not a zombie). */
    public boolean alive() {
        return ProcInfo.alive(state.pid(), state.startTicks());
    }

    /** Completes with a reason when the QMP connection closes: QEMU quit or died, or {@link #detach()} was called. */
    public CompletableFuture<String> disconnected() {
        return qmp.closed();
    }

    /** QEMU's run state: {@code running}, {@code paused}, {@code inmigrate}, {@code postmigrate}, ... */
    public String status() throws QmpException {
        return Json.string(qmp.executeObject("query-status", null, QmpClient.DEFAULT_TIMEOUT), "status");
    }

    public void pause() throws QmpException {
        qmp.execute("stop", null);
    }

    public void resume() throws QmpException {
        qmp.execute("cont", null);
    }

    /** RSS and PSS of the QEMU process. */
    public ProcInfo.Memory memory() throws IOException {
        return ProcInfo.memory(state.pid());
    }

    /**
     * Adds a port forward to the running guest ({@code hostfwd_add} through the human monitor, the
     * only way QEMU 7.2 offers) and records it in the state file.
     */
    public synchronized void addForward(GuestSpec.Forward forward) throws IOException {
        String bind = launcher.settings().bindAddress();
        String command = "hostfwd_add " + CommandLine.NETDEV + " tcp:" + bind + ":" + forward.hostPort() + "-:"
                + forward.guestPort();
        Object out = qmp.execute("human-monitor-command", Map.of("command-line", command));
        // HMP reports errors as text in a successful reply.
        if (out instanceof String && !((String) out).isBlank()) {
            throw new IOException("hostfwd_add on " + name() + " failed: " + Checks.excerpt(((String) out).trim()));
        }
        List<GuestSpec.Forward> forwards = new ArrayList<>(state.forwards());
        forwards.add(forward);
        update(state.withRole(state.role(), forwards));
    }

    /** Records a new state (role, phase, forwards) in memory and in the state file. */
    synchronized void update(GuestState newState) throws IOException {
        newState.write(paths.state());
        state = newState;
    }

    /**
     * Stops the guest: QMP {@code quit}, then SIGTERM, then SIGKILL, each given part of {@code timeout};
     * then removes its files. Never signals a process that is not this guest's (pid and start time are checked).
     */
    public void quit(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (alive() && qmp.isOpen()) {
            try {
                qmp.execute("quit", null, Duration.ofMillis(Math.max(100, timeout.toMillis() / 3)));
            } catch (QmpException e) {
                // CLOSED is the normal outcome: QEMU may close the socket before its reply is read.
                if (e.kind() != QmpException.Kind.CLOSED) {
                    LOG.log(System.Logger.Level.DEBUG, "quit " + name() + ": " + e.getMessage());
                }
            }
            waitGone(deadline - timeout.toNanos() / 3);
        }
        if (alive()) {
            ProcessHandle.of(state.pid()).ifPresent(ProcessHandle::destroy);
            waitGone(deadline - timeout.toNanos() / 6);
        }
        if (alive()) {
            ProcessHandle.of(state.pid()).ifPresent(ProcessHandle::destroyForcibly);
            waitGone(deadline);
        }
        if (alive()) {
            LOG.log(System.Logger.Level.WARNING, "QEMU " + name() + " (pid " + pid() + ") did not exit");
        }
        qmp.close();
        launcher.forget(this);
    }

    /** Kills the process at once (SIGKILL) and removes its files. */
    public void kill() {
        if (alive()) {
            ProcessHandle.of(state.pid()).ifPresent(ProcessHandle::destroyForcibly);
            waitGone(System.nanoTime() + Duration.ofSeconds(5).toNanos());
        }
        qmp.close();
        launcher.forget(this);
    }

    /** Closes the QMP connection and leaves the process running (the appliance stops; another attaches later). */
    public void detach() {
        qmp.close();
        launcher.release(this);
    }

    @Override
    public void close() {
        detach();
    }

    private void waitGone(long deadlineNanos) {
        while (alive() && System.nanoTime() < deadlineNanos) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "QemuGuest[" + name() + ", pid " + pid() + ", " + state.role() + "]";
    }
}
