package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Saving and loading guest state over QMP with QEMU 7.2's means: {@code migrate} to
 * {@code exec:cat > FILE} and {@code migrate-incoming} from {@code exec:cat FILE} (7.2 has no
 * {@code file:} URI). QEMU runs the {@code exec:} command through {@code /bin/sh -c}: the file's path
 * has passed {@link Checks#plain} (no character a shell reads) before it gets here.
 */
public final class Migration {

    private Migration() {
    }

    /** Sets the migration capabilities: {@code events} always, {@code x-ignore-shared} as told. */
    static void capabilities(QmpClient qmp, boolean ignoreShared) throws QmpException {
        qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(
                Map.of("capability", "events", "state", true),
                Map.of("capability", "x-ignore-shared", "state", ignoreShared))));
    }

    /**
     * Saves the paused guest's state into {@code file} and waits until the migration completed. With
     * {@code ignoreShared}, RAM in a shared file is left out (it is in the file already).
     *
     * @param runAs the user QEMU runs as (the shell it spawns writes the file), or {@code null}
     */
    static void save(QemuGuest guest, Path file, boolean ignoreShared, String runAs, Duration timeout) throws IOException {
        Checks.plain("state file", file);
        QmpClient qmp = guest.qmp();
        capabilities(qmp, ignoreShared);
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        if (runAs != null) {
            Files.setOwner(file, lookup(file, runAs));
        }
        try (QmpClient.EventWatch done = qmp.watch(Migration::finished)) {
            qmp.execute("migrate", Map.of("uri", "exec:cat > " + file));
            QmpEvent event = await(qmp, done, timeout);
            if (!"completed".equals(event.status())) {
                throw new IOException("saving " + guest.name() + " to " + file + " ended " + event.status());
            }
        }
        awaitFinalized(guest, timeout);
        // Back to the appliance's user, readable by QEMU (clones read it as the runAs user), written by no one.
        if (runAs != null) {
            Files.setOwner(file, Files.getOwner(file.getParent()));
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
    }

    /**
     * QEMU sends the MIGRATION event "completed" before its migration thread is cleaned up; until then the guest is
     * in {@code finish-migrate} and a {@code cont} is refused ("Migration is not finalized yet", seen under load).
     */
    private static void awaitFinalized(QemuGuest guest, Duration timeout) throws IOException {
        long end = System.nanoTime() + timeout.toNanos();
        while ("finish-migrate".equals(guest.status())) {
            if (System.nanoTime() > end) {
                throw new IOException("saving " + guest.name() + ": the migration did not finalize");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while saving " + guest.name(), e);
            }
        }
    }

    /**
     * Loads {@code file} into a guest started with {@code -incoming defer}, waits until the migration
     * completed and resumes the guest (it was saved paused). A failed load ends the QEMU process.
     */
    static void load(QemuGuest guest, Path file, boolean ignoreShared, Duration timeout) throws IOException {
        Checks.plain("state file", file);
        if (!Files.isReadable(file)) {
            throw new IOException("no state file " + file);
        }
        QmpClient qmp = guest.qmp();
        capabilities(qmp, ignoreShared);
        try (QmpClient.EventWatch done = qmp.watch(Migration::finished)) {
            qmp.execute("migrate-incoming", Map.of("uri", "exec:cat " + file));
            QmpEvent event = await(qmp, done, timeout);
            if (!"completed".equals(event.status())) {
                throw new IOException("loading " + file + " into " + guest.name() + " ended " + event.status());
            }
        }
        qmp.execute("cont", null);
    }

    private static boolean finished(QmpEvent e) {
        return "MIGRATION".equals(e.name())
                && ("completed".equals(e.status()) || "failed".equals(e.status()) || "cancelled".equals(e.status()));
    }

    /** Waits for the event; if it did not come (or the connection closed on a failed load), asks QEMU (or says why not). */
    private static QmpEvent await(QmpClient qmp, QmpClient.EventWatch watch, Duration timeout) throws QmpException {
        try {
            return watch.await(timeout);
        } catch (QmpException e) {
            if (e.kind() == QmpException.Kind.TIMEOUT && qmp.isOpen()) {
                Map<String, Object> status = qmp.executeObject("query-migrate", null, Duration.ofSeconds(2));
                String s = Json.string(status, "status");
                if ("completed".equals(s) || "failed".equals(s)) {
                    return new QmpEvent("MIGRATION", Map.of("status", s), 0);
                }
            }
            throw e;
        }
    }

    private static UserPrincipal lookup(Path file, String user) throws IOException {
        UserPrincipalLookupService users = file.getFileSystem().getUserPrincipalLookupService();
        return users.lookupPrincipalByName(user);
    }
}
