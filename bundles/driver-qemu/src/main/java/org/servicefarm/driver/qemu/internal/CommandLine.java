package org.servicefarm.driver.qemu.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds the argv of one QEMU process from a {@link GuestSpec}. Every element is a separate
 * argument (no shell ever parses it); every value in it has passed {@link Checks}, and paths must
 * lie under the directories {@link QemuSettings} names: images under an image root, RAM files under
 * the checkpoint directory, the guest's own files under the state directory.
 *
 * <p>The machine is the one the teammate's images boot today (i440fx {@code pc}, virtio), with the RAM
 * in a memory backend object named {@code mem} ({@code -machine memory-backend=mem}) so that a
 * template, a copy-on-write clone and a plain restore all have one RAM block of one name. Devices sit
 * at fixed PCI addresses (NIC 0x10, disk 0x4): a checkpoint's device state is only valid for the same
 * device layout.
 */
public final class CommandLine {

    /** The user-mode network's id (also the name {@code hostfwd_add} needs). */
    public static final String NETDEV = "sfnet0";
    static final String NIC_ADDR = "0x10";
    static final String DISK_ADDR = "0x4";

    private CommandLine() {
    }

    /** The argv for {@code spec}, its files at {@code paths}. */
    public static List<String> build(QemuSettings settings, GuestSpec spec, GuestPaths paths) {
        Image image = spec.image();
        Checks.under("kernel", image.kernel(), settings.imageRoots());
        Checks.under("initrd", image.initrd(), settings.imageRoots());
        if (image.disk() != null) {
            Checks.under("disk", image.disk(), settings.imageRoots());
        }
        List<java.nio.file.Path> stateRoot = List.of(settings.stateDir());
        Checks.under("state file", paths.state(), stateRoot);
        Checks.under("pid file", paths.pid(), stateRoot);
        Checks.under("QMP socket", Checks.socket("QMP socket", paths.qmp()), stateRoot);
        Checks.under("serial log", paths.serial(), stateRoot);

        List<String> argv = new ArrayList<>(48);
        argv.add(settings.qemuBinary().toString());
        argv.add("-name");
        argv.add("guest=" + spec.name() + ",debug-threads=on");
        argv.add("-machine");
        argv.add(settings.machine() + ",accel=" + settings.accel() + ",memory-backend=mem");
        argv.add("-m");
        argv.add(spec.memoryMiB() + "M");
        argv.add("-object");
        argv.add(memoryBackend(settings, spec));
        argv.add("-cpu");
        argv.add(settings.cpu());
        argv.add("-smp");
        argv.add(Integer.toString(spec.vcpus()));
        argv.add("-nodefaults");
        argv.add("-no-user-config");
        argv.add("-display");
        argv.add("none");
        argv.add("-kernel");
        argv.add(image.kernel().toString());
        argv.add("-initrd");
        argv.add(image.initrd().toString());
        argv.add("-append");
        argv.add(image.cmdline());
        if (image.disk() != null) {
            argv.add("-drive");
            argv.add("file=" + image.disk() + ",format=raw,if=none,id=disk0,readonly=on");
            argv.add("-device");
            argv.add("virtio-blk-pci,drive=disk0,bus=pci.0,addr=" + DISK_ADDR);
        }
        StringBuilder netdev = new StringBuilder("user,id=" + NETDEV);
        if (settings.restrictNetwork()) {
            netdev.append(",restrict=on");
        }
        for (GuestSpec.Forward f : spec.forwards()) {
            netdev.append(",hostfwd=tcp:").append(settings.bindAddress()).append(':').append(f.hostPort())
                    .append("-:").append(f.guestPort());
        }
        argv.add("-netdev");
        argv.add(netdev.toString());
        argv.add("-device");
        argv.add("virtio-net-pci,netdev=" + NETDEV + ",bus=pci.0,addr=" + NIC_ADDR);
        if (settings.vmGenId()) {
            argv.add("-device");
            argv.add("vmgenid,id=vmgenid0,guid=auto");
        }
        argv.add("-chardev");
        argv.add("file,id=serial0,path=" + paths.serial());
        argv.add("-serial");
        argv.add("chardev:serial0");
        argv.add("-qmp");
        argv.add("unix:" + paths.qmp() + ",server=on,wait=off");
        argv.add("-pidfile");
        argv.add(paths.pid().toString());
        argv.add("-daemonize");
        if (settings.runAs() != null) {
            argv.add("-runas");
            argv.add(settings.runAs());
        }
        if (settings.sandbox()) {
            // spawn stays allowed: exec: migration forks /bin/sh. elevateprivileges stays allowed too: with
            // =deny (or =children) seccomp kills the daemonizing child at its setsid() (SIGSYS, syscall 112),
            // and the launch fails with exit 1 and no message.
            argv.add("-sandbox");
            argv.add("on,obsolete=deny,resourcecontrol=deny");
        }
        if (spec.incoming()) {
            argv.add("-incoming");
            argv.add("defer");
        }
        return List.copyOf(argv);
    }

    private static String memoryBackend(QemuSettings settings, GuestSpec spec) {
        String size = ",size=" + spec.memoryMiB() + "M";
        GuestSpec.Ram ram = spec.ram();
        switch (ram.kind()) {
            case ANONYMOUS:
                return "memory-backend-ram,id=mem" + size;
            case FILE_SHARED:
            case FILE_PRIVATE:
                Checks.under("RAM file", ram.file(), List.of(settings.checkpointDir()));
                return "memory-backend-file,id=mem" + size + ",mem-path=" + ram.file() + ",share="
                        + (ram.kind() == GuestSpec.RamKind.FILE_SHARED ? "on" : "off");
            default:
                throw new IllegalStateException(ram.kind().toString());
        }
    }

    /**
     * The argv with the parts that differ between guests of one checkpoint replaced by placeholders
     * (name, own files, ports, RAM sharing, incoming): two guests with the same normalized argv can take
     * the same checkpoint's state.
     */
    public static List<String> normalized(List<String> argv) {
        List<String> out = new ArrayList<>(argv.size());
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            String prev = i > 0 ? argv.get(i - 1) : "";
            if (a.equals("-incoming")) {
                i++;
                continue;
            }
            switch (prev) {
                case "-name": a = "guest=NAME"; break;
                case "-chardev": a = a.replaceFirst("path=.*$", "path=SERIAL"); break;
                case "-qmp": a = "QMP"; break;
                case "-pidfile": a = "PIDFILE"; break;
                // Forwards are host-side only (not in the guest's state): any number may differ.
                case "-netdev": a = a.replaceAll(",hostfwd=[^,]*", ""); break;
                case "-object": a = a.replaceFirst("memory-backend-(ram|file)", "memory-backend")
                        .replaceFirst(",share=(on|off)", "").replaceFirst(",mem-path=[^,]*", ""); break;
                default: break;
            }
            out.add(a);
        }
        return out;
    }
}
