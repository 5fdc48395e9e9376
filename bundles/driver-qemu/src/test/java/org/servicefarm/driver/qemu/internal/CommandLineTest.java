package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineTest {

    @TempDir
    Path tmp;

    private Path images;
    private QemuSettings settings;
    private Image image;

    @BeforeEach
    void setUp() throws IOException {
        images = tmp.resolve("images");
        Path dir = Files.createDirectories(images.resolve("573cc39044e07c670b0103bd"));
        Files.writeString(dir.resolve("kernel"), "k");
        Files.writeString(dir.resolve("initrd"), "i");
        Files.writeString(dir.resolve("disk"), "d");
        Files.writeString(dir.resolve("image.json"), "{\"key\": \"573cc39044e07c670b0103bd\", \"cmdline\": "
                + "\"console=ttyS0 quiet panic=5 rootfstype=ramfs\", \"disk\": true, \"minMemoryMiB\": 128}");
        settings = QemuSettings.defaults().withDirectories(tmp.resolve("state"), tmp.resolve("checkpoints"), List.of(images))
                .withMachine("pc-i440fx-7.2").withRunAs("libvirt-qemu");
        image = Image.fromDirectory(dir);
    }

    private GuestSpec spec(String name, GuestSpec.Ram ram, int port, boolean incoming) {
        return new GuestSpec(name, image, 256, 1, ram, List.of(new GuestSpec.Forward(port, 80)), incoming);
    }

    private List<String> argv(GuestSpec spec) {
        return CommandLine.build(settings, spec, GuestPaths.of(settings.stateDir(), spec.name()));
    }

    @Test
    void buildsTheTemplateCommandLineAsSeparateArguments() {
        Path ram = settings.checkpointDir().resolve("cp1").resolve("ram");
        List<String> argv = argv(spec("tpl-cp1", GuestSpec.Ram.shared(ram), 31000, false));
        assertEquals("/usr/bin/qemu-system-x86_64", argv.get(0));
        assertEquals("guest=tpl-cp1,debug-threads=on", after(argv, "-name"));
        assertEquals("pc-i440fx-7.2,accel=tcg,memory-backend=mem", after(argv, "-machine"));
        assertEquals("256M", after(argv, "-m"));
        assertEquals("qemu64,+rdrand", after(argv, "-cpu"));
        assertEquals("memory-backend-file,id=mem,size=256M,mem-path=" + ram + ",share=on", after(argv, "-object"));
        // The kernel command line is one argument, spaces and all: no shell splits it.
        assertEquals("console=ttyS0 quiet panic=5 rootfstype=ramfs", after(argv, "-append"));
        assertTrue(argv.contains("file=" + images.resolve("573cc39044e07c670b0103bd/disk") + ",format=raw,if=none,id=disk0,readonly=on"));
        assertTrue(argv.contains("virtio-blk-pci,drive=disk0,bus=pci.0,addr=0x4"));
        assertEquals("user,id=sfnet0,restrict=on,hostfwd=tcp:127.0.0.1:31000-:80", after(argv, "-netdev"));
        assertTrue(argv.contains("virtio-net-pci,netdev=sfnet0,bus=pci.0,addr=0x10"), "NIC pinned at 0x10");
        assertTrue(argv.contains("vmgenid,id=vmgenid0,guid=auto"));
        assertEquals("unix:" + settings.stateDir().resolve("tpl-cp1.qmp") + ",server=on,wait=off", after(argv, "-qmp"));
        assertEquals(settings.stateDir().resolve("tpl-cp1.pid").toString(), after(argv, "-pidfile"));
        assertTrue(argv.contains("-daemonize"));
        assertEquals("libvirt-qemu", after(argv, "-runas"));
        assertEquals("on,obsolete=deny,resourcecontrol=deny", after(argv, "-sandbox"));
        assertFalse(argv.contains("-incoming"));
    }

    @Test
    void aCloneDiffersFromItsTemplateOnlyInWhatIsItsOwn() {
        Path ram = settings.checkpointDir().resolve("cp1").resolve("ram");
        List<String> template = argv(spec("tpl-cp1", GuestSpec.Ram.shared(ram), 31000, false));
        List<String> clone = argv(spec("cp1-abc123", GuestSpec.Ram.copyOnWrite(ram), 31007, true));
        List<String> full = argv(spec("cp1-full", GuestSpec.Ram.anonymous(), 31008, true));
        assertTrue(clone.contains("memory-backend-file,id=mem,size=256M,mem-path=" + ram + ",share=off"));
        assertEquals("defer", after(clone, "-incoming"));
        assertEquals("memory-backend-ram,id=mem,size=256M", after(full, "-object"));
        assertEquals(CommandLine.normalized(template), CommandLine.normalized(clone));
        assertEquals(CommandLine.normalized(template), CommandLine.normalized(full));
        // Another memory size, device set or hardening option is another machine.
        GuestSpec bigger = new GuestSpec("cp1-big", image, 512, 1, GuestSpec.Ram.copyOnWrite(ram),
                List.of(new GuestSpec.Forward(31009, 80)), true);
        assertNotEquals(CommandLine.normalized(template), CommandLine.normalized(argv(bigger)));
        List<String> noGenId = CommandLine.build(settings.withHardening(true, false, true),
                spec("cp1-x", GuestSpec.Ram.copyOnWrite(ram), 31010, true), GuestPaths.of(settings.stateDir(), "cp1-x"));
        assertNotEquals(CommandLine.normalized(template), CommandLine.normalized(noGenId));
    }

    @Test
    void refusesPathsOutsideTheirDirectories() throws IOException {
        Path outside = Files.writeString(tmp.resolve("kernel"), "k");
        Image stray = new Image("k", outside, image.initrd(), null, "quiet", 128);
        GuestSpec spec = new GuestSpec("g", stray, 128, 1, GuestSpec.Ram.anonymous(), List.of(), false);
        assertThrows(IllegalArgumentException.class, () -> argv(spec));
        // A RAM file outside the checkpoint directory.
        assertThrows(IllegalArgumentException.class,
                () -> argv(spec("g", GuestSpec.Ram.copyOnWrite(tmp.resolve("ram")), 31000, true)));
        // A symbolic link inside the image root that leads out of it.
        Path link = images.resolve("573cc39044e07c670b0103bd/evil");
        Files.createSymbolicLink(link, outside);
        Image linked = new Image("k", link, image.initrd(), null, "quiet", 128);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> argv(new GuestSpec("g", linked, 128, 1, GuestSpec.Ram.anonymous(), List.of(), false)));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
    }

    @Test
    void refusesCharactersThatQemuOrAShellWouldRead() {
        Path base = images.resolve("573cc39044e07c670b0103bd");
        for (String bad : List.of("kernel,readonly=off", "ker nel", "k;rm -rf", "k$(id)", "k`id`", "k'x", "k\"x", "k:x",
                "k=x", "k\nx", "../../etc/passwd", "./kernel", "k|x", "k>x", "k&x", "k*", "k~")) {
            assertThrows(IllegalArgumentException.class,
                    () -> new Image("k", Path.of(base + "/" + bad), image.initrd(), null, "quiet", 128), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> new Image("k", Path.of("kernel"), image.initrd(), null, "q", 128),
                "relative");
        assertThrows(IllegalArgumentException.class,
                () -> new Image("k", image.kernel(), image.initrd(), null, "quiet\n init=/bin/sh", 128), "control character");
    }

    @Test
    void refusesBadNamesPortsAndSizes() {
        Path ram = settings.checkpointDir().resolve("r");
        for (String bad : List.of("", "Upper", "1abc", "a_b", "a,b", "a b", "a/b", "a".repeat(49), "a\u00e9", "-a")) {
            assertThrows(IllegalArgumentException.class, () -> spec(bad, GuestSpec.Ram.anonymous(), 31000, false), bad);
        }
        for (int port : List.of(0, 80, 1023, 65536, -1)) {
            assertThrows(IllegalArgumentException.class, () -> new GuestSpec.Forward(port, 80), Integer.toString(port));
        }
        assertThrows(IllegalArgumentException.class, () -> new GuestSpec.Forward(31000, 0));
        assertThrows(IllegalArgumentException.class, () -> new GuestSpec("g", image, 32, 1, GuestSpec.Ram.anonymous(),
                List.of(), false));
        assertThrows(IllegalArgumentException.class, () -> new GuestSpec("g", image, 128, 1, GuestSpec.Ram.anonymous(),
                List.of(new GuestSpec.Forward(31000, 80), new GuestSpec.Forward(31000, 81)), false), "a host port twice");
        assertThrows(IllegalArgumentException.class, () -> new GuestSpec.Ram(GuestSpec.RamKind.ANONYMOUS, ram));
        assertThrows(IllegalArgumentException.class, () -> new GuestSpec.Ram(GuestSpec.RamKind.FILE_PRIVATE, null));
    }

    @Test
    void refusesBadSettings() {
        QemuSettings d = QemuSettings.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withRunAs("root; id"));
        assertThrows(IllegalArgumentException.class, () -> d.withMachine("pc,accel=kvm"));
        assertThrows(IllegalArgumentException.class, () -> Checks.cpu("cpu", "qemu64,+rdrand,id=x"));
        assertThrows(IllegalArgumentException.class, () -> Checks.cpu("cpu", "qemu64 -device x"));
        assertEquals("max,-svm", Checks.cpu("cpu", "max,-svm"));
        assertThrows(IllegalArgumentException.class,
                () -> d.withDirectories(Path.of("/run/" + "x".repeat(60)), d.checkpointDir(), d.imageRoots()),
                "socket paths would be too long");
        assertThrows(IllegalArgumentException.class, () -> d.withDirectories(Path.of("/run/a,b"), d.checkpointDir(),
                d.imageRoots()));
        assertThrows(IllegalArgumentException.class, () -> d.withDirectories(d.stateDir(), d.checkpointDir(), List.of()));
    }

    private static String after(List<String> argv, String option) {
        int i = argv.indexOf(option);
        assertTrue(i >= 0 && i + 1 < argv.size(), option + " missing");
        return argv.get(i + 1);
    }
}
