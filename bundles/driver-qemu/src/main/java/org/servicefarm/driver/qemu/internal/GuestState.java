package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the launcher records about one QEMU process in {@code <stateDir>/<name>.json}, so that a
 * restarted appliance finds it again: the pid together with the process's start time (a recycled pid
 * does not match both), the exact argv (compared with {@code /proc/PID/cmdline} before re-attaching),
 * the role and, for clones and pool processes, the checkpoint and the ports.
 *
 * @param name        the guest name
 * @param role        why the process exists
 * @param phase       the launcher's last knowledge of it (QMP is the truth once attached)
 * @param pid         QEMU's pid, 0 while launching
 * @param startTicks  the process's start time in clock ticks since boot, 0 while launching
 * @param argv        the command line it was started with
 * @param forwards    host port to guest port
 * @param checkpoint  the checkpoint it runs or waits for, or {@code null}
 * @param createdMillis when the launch began (epoch milliseconds)
 */
public record GuestState(String name, Role role, Phase phase, long pid, long startTicks, List<String> argv,
        List<GuestSpec.Forward> forwards, String checkpoint, long createdMillis) {

    static final String SCHEMA = "servicefarm.qemu-guest/1";

    /** Why a process exists. */
    public enum Role {
        /** Booted from an image, becomes a checkpoint's template; never runs again after the checkpoint. */
        TEMPLATE,
        /** Booted from an image and kept (a cold boot). */
        GUEST,
        /** A pre-started process waiting for a checkpoint's state. */
        POOL,
        /** Runs a checkpoint's state. */
        CLONE
    }

    /** The launcher's knowledge of the process. */
    public enum Phase {
        /** The launch began; no pid known yet. A state file left in this phase names a launch that a crash interrupted. */
        LAUNCHING,
        /** Started and running guest code. */
        RUNNING,
        /** Started with {@code -incoming defer}, waiting for state. */
        INCOMING
    }

    public GuestState {
        Checks.name("guest name", name);
        if (role == null || phase == null) {
            throw new IllegalArgumentException("role and phase are required");
        }
        argv = List.copyOf(argv);
        forwards = List.copyOf(forwards);
        if (checkpoint != null) {
            Checks.name("checkpoint", checkpoint);
        }
    }

    public GuestState with(Phase newPhase, long newPid, long newStartTicks) {
        return new GuestState(name, role, newPhase, newPid, newStartTicks, argv, forwards, checkpoint, createdMillis);
    }

    public GuestState withRole(Role newRole, List<GuestSpec.Forward> newForwards) {
        return new GuestState(name, newRole, phase, pid, startTicks, argv, newForwards, checkpoint, createdMillis);
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("name", name);
        m.put("role", role.name());
        m.put("phase", phase.name());
        m.put("pid", pid);
        m.put("startTicks", startTicks);
        m.put("checkpoint", checkpoint);
        List<Object> fw = new ArrayList<>();
        for (GuestSpec.Forward f : forwards) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("hostPort", f.hostPort());
            o.put("guestPort", f.guestPort());
            fw.add(o);
        }
        m.put("forwards", fw);
        m.put("createdMillis", createdMillis);
        m.put("argv", argv);
        return m;
    }

    @SuppressWarnings("unchecked")
    static GuestState fromJson(Map<String, Object> m) {
        if (!SCHEMA.equals(m.get("schema"))) {
            throw new IllegalArgumentException("not a " + SCHEMA + " state file");
        }
        List<GuestSpec.Forward> fw = new ArrayList<>();
        for (Object o : Json.array(m, "forwards")) {
            Map<String, Object> f = (Map<String, Object>) o;
            fw.add(new GuestSpec.Forward((int) Json.number(f, "hostPort", 0), (int) Json.number(f, "guestPort", 0)));
        }
        List<String> argv = new ArrayList<>();
        for (Object a : Json.array(m, "argv")) {
            if (!(a instanceof String)) {
                throw new IllegalArgumentException("argv holds a non-string");
            }
            argv.add((String) a);
        }
        return new GuestState(Json.string(m, "name"), Role.valueOf(Json.string(m, "role")),
                Phase.valueOf(Json.string(m, "phase")), Json.number(m, "pid", 0), Json.number(m, "startTicks", 0), argv, fw,
                Json.string(m, "checkpoint"), Json.number(m, "createdMillis", 0));
    }

    /** Writes the state to {@code file} atomically (a temporary file renamed over it). */
    void write(Path file) throws IOException {
        writeAtomically(file, Json.writePretty(toJson()));
    }

    /** Reads a state file. */
    static GuestState read(Path file) throws IOException {
        try {
            return fromJson(Json.parseObject(Files.readString(file)));
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable state file " + file + ": " + e.getMessage(), e);
        }
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
