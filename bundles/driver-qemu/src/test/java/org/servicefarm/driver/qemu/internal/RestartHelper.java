package org.servicefarm.driver.qemu.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A stand-in for the appliance's JVM, run as a separate process by {@link RealQemuTest}: it clones a
 * checkpoint, prints {@code READY <pid>} and waits with its QMP connection open, to be killed with
 * SIGKILL. The test then checks that the guest survived and can be attached again.
 *
 * <p>Arguments: ROOT (as for {@link RealQemu#settings}) CHECKPOINT_ID NAME HOST_PORT
 */
public final class RestartHelper {

    private RestartHelper() {
    }

    public static void main(String[] args) throws Exception {
        QemuSettings settings = RealQemu.settings(Path.of(args[0]));
        QemuLauncher launcher = QemuLauncher.create(settings);
        Checkpoint cp = Checkpoint.read(settings.checkpointDir().resolve(args[1]));
        QemuGuest guest = new Cloner(launcher).clone(cp, args[2],
                List.of(new GuestSpec.Forward(Integer.parseInt(args[3]), cp.guestPorts().get(0))), Cloner.Mode.COPY_ON_WRITE,
                Duration.ofSeconds(30));
        System.out.println("READY " + guest.pid());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
