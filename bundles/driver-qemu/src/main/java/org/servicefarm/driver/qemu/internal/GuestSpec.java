package org.servicefarm.driver.qemu.internal;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What one QEMU process is to run.
 *
 * @param name      the guest's name (a {@link Checks#NAME}); names its files in the state directory
 * @param image     kernel, initrd, optional disk, command line
 * @param memoryMiB guest RAM
 * @param vcpus     virtual CPUs
 * @param ram       where the RAM lives
 * @param forwards  one host port forward per service
 * @param incoming  start paused, waiting for incoming state ({@code -incoming defer})
 */
public record GuestSpec(String name, Image image, int memoryMiB, int vcpus, Ram ram, List<Forward> forwards,
        boolean incoming) {

    /** Where guest RAM lives. The backend object is always {@code id=mem}, so its RAM block has one name. */
    public enum RamKind {
        /** Anonymous memory ({@code memory-backend-ram}): private, read in full on restore. */
        ANONYMOUS,
        /** A file mapped shared ({@code share=on}): the guest writes into the file (a checkpoint template). */
        FILE_SHARED,
        /** A file mapped private ({@code share=off}): copy-on-write over the file, which stays unchanged (a clone). */
        FILE_PRIVATE
    }

    /** Guest RAM backing: a kind, and the file for the file kinds. */
    public record Ram(RamKind kind, Path file) {
        public Ram {
            if (kind == null) {
                throw new IllegalArgumentException("ram kind is required");
            }
            if (kind == RamKind.ANONYMOUS ? file != null : file == null) {
                throw new IllegalArgumentException(kind + " RAM " + (file == null ? "needs" : "takes no") + " file");
            }
            if (file != null) {
                Checks.plain("RAM file", file);
            }
        }

        public static Ram anonymous() {
            return new Ram(RamKind.ANONYMOUS, null);
        }

        public static Ram shared(Path file) {
            return new Ram(RamKind.FILE_SHARED, file);
        }

        public static Ram copyOnWrite(Path file) {
            return new Ram(RamKind.FILE_PRIVATE, file);
        }
    }

    /** A TCP forward from {@code hostPort} on the bind address to {@code guestPort} in the guest. */
    public record Forward(int hostPort, int guestPort) {
        public Forward {
            Checks.hostPort("hostPort", hostPort);
            Checks.guestPort("guestPort", guestPort);
        }
    }

    public GuestSpec {
        Checks.name("guest name", name);
        if (image == null || ram == null) {
            throw new IllegalArgumentException("image and ram are required");
        }
        Checks.range("memoryMiB", memoryMiB, 96, 65536);
        Checks.range("vcpus", vcpus, 1, 64);
        forwards = List.copyOf(forwards);
        Checks.range("number of forwards", forwards.size(), 0, 32);
        Set<Integer> hostPorts = new HashSet<>();
        Set<Integer> guestPorts = new HashSet<>();
        for (Forward f : forwards) {
            if (!hostPorts.add(f.hostPort()) || !guestPorts.add(f.guestPort())) {
                throw new IllegalArgumentException("forwards repeat a port: " + forwards);
            }
        }
    }

    public GuestSpec withName(String newName) {
        return new GuestSpec(newName, image, memoryMiB, vcpus, ram, forwards, incoming);
    }

    public GuestSpec withForwards(List<Forward> newForwards) {
        return new GuestSpec(name, image, memoryMiB, vcpus, ram, newForwards, incoming);
    }

    public GuestSpec withRam(Ram newRam) {
        return new GuestSpec(name, image, memoryMiB, vcpus, newRam, forwards, incoming);
    }

    public GuestSpec withIncoming(boolean defer) {
        return new GuestSpec(name, image, memoryMiB, vcpus, ram, forwards, defer);
    }

    /** The guest ports, in order. */
    public List<Integer> guestPorts() {
        return forwards.stream().map(Forward::guestPort).toList();
    }
}
