import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.servicefarm.driver.qemu.internal.Checkpoint;
import org.servicefarm.driver.qemu.internal.Checkpointer;
import org.servicefarm.driver.qemu.internal.ClonePool;
import org.servicefarm.driver.qemu.internal.Cloner;
import org.servicefarm.driver.qemu.internal.GuestSpec;
import org.servicefarm.driver.qemu.internal.GuestState;
import org.servicefarm.driver.qemu.internal.HttpProbe;
import org.servicefarm.driver.qemu.internal.Image;
import org.servicefarm.driver.libvirt.internal.LibvirtSaveImage;
import org.servicefarm.driver.qemu.internal.PortRange;
import org.servicefarm.driver.qemu.internal.ProcInfo;
import org.servicefarm.driver.qemu.internal.QemuGuest;
import org.servicefarm.driver.qemu.internal.QemuLauncher;
import org.servicefarm.driver.qemu.internal.QemuSettings;

/**
 * Fast-start benchmark: for one image, in rounds, every path from "nothing runs" to the first HTTP
 * 200 on the guest's forwarded port, side by side on the same machine:
 * <ol>
 * <li>libvirt cold boot ({@code virsh create} of components/lib/guest-lib.sh's domain XML);</li>
 * <li>direct QEMU cold boot (this bundle's launcher, the same machine as the clones);</li>
 * <li>libvirt restore of a {@code virsh save}d guest ({@code virsh restore}, same name);</li>
 * <li>libvirt restore as a renamed clone (the save image's XML rewritten: name, UUID, port);</li>
 * <li>direct QMP restore: new QEMU with {@code -incoming defer}, {@code migrate-incoming} of the full state;</li>
 * <li>copy-on-write clone, process start included (private mapping of the checkpoint's RAM file);</li>
 * <li>copy-on-write clone from a pre-started pool process (claim = migrate-incoming + cont);</li>
 * <li>copy-on-write clone with the RAM file dropped from the page cache first ({@code dd iflag=nocache}).</li>
 * </ol>
 * Then memory (RSS, PSS from /proc/PID/smaps_rollup) of a booted guest and of 1 and 3 clones.
 * Run by benchmarks/fast-start/run, which builds the bundle and passes the images.
 *
 * <p>Arguments: {@code --runs N --work DIR --image LABEL=DIR:MEMORY_MIB [--image ...]}
 */
public final class FastStart {

    private static final String URI = "qemu:///system";
    private static final Duration ATTEMPT = Duration.ofMillis(400);
    private static final Duration PAUSE = Duration.ofMillis(10);
    private static final Path GUEST_LIB = Path.of("components/lib/guest-lib.sh");

    private final int runs;
    private final Path work;
    private final QemuLauncher launcher;
    private final PortRange ports = new PortRange("127.0.0.1", 30000, 30999);
    private final List<String> domains = Collections.synchronizedList(new ArrayList<>());
    /** Every libvirt domain name used: their logs in /var/log/libvirt/qemu are removed at the end. */
    private final List<String> domainNames = Collections.synchronizedList(new ArrayList<>());
    private final StringBuilder report = new StringBuilder();

    private FastStart(int runs, Path work, QemuLauncher launcher) {
        this.runs = runs;
        this.work = work;
        this.launcher = launcher;
    }

    public static void main(String[] args) throws Exception {
        int runs = 5;
        Path work = Path.of("benchmarks/fast-start/target").toAbsolutePath();
        Map<String, String> images = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs": runs = Integer.parseInt(args[++i]); break;
                case "--work": work = Path.of(args[++i]).toAbsolutePath(); break;
                case "--image": {
                    String[] kv = args[++i].split("=", 2);
                    images.put(kv[0], kv[1]);
                    break;
                }
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path checkpoints = work.resolve("cp");
        Path state = Path.of("/run/servicefarm/fast-start-bench");
        Files.createDirectories(checkpoints);
        for (Path p = checkpoints; p != null && p.startsWith(work); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        QemuSettings settings = QemuSettings.defaults().withDirectories(state, checkpoints,
                List.of(Path.of("/var/lib/servicefarm/images"))).withRunAs("libvirt-qemu");
        QemuLauncher launcher = QemuLauncher.create(settings);
        FastStart bench = new FastStart(runs, work, launcher);
        Thread cleanup = new Thread(bench::cleanUp);
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            bench.header(settings, images);
            for (Map.Entry<String, String> e : images.entrySet()) {
                String[] dirMem = e.getValue().split(":");
                bench.image(e.getKey(), Path.of(dirMem[0]), Integer.parseInt(dirMem[1]));
            }
        } finally {
            bench.cleanUp();
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        System.out.println();
        System.out.println("==== report (markdown) ====");
        System.out.println(bench.report);
    }

    private void header(QemuSettings settings, Map<String, String> images) throws IOException {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
        out("Machine: %s, %d CPUs, %s, %s; QEMU %s (%s, TCG), libvirt %s; %s; date %s UTC",
                sh("hostname").trim(), Runtime.getRuntime().availableProcessors(), cpu, memTotal(),
                launcher.qemuVersion(), settings.machine(), sh("virsh", "-c", URI, "version", "--daemon").lines()
                        .filter(l -> l.contains("Running against daemon")).findFirst().orElse("?").replaceAll(".*: ", ""),
                "load average " + Files.readString(Path.of("/proc/loadavg")).trim(), Instant.now().toString());
        out("Runs per path: %d (medians, min-max). HTTP probe: a new connection per attempt, 400 ms attempt timeout, 10 ms"
                + " between attempts. Images: %s", runs, images);
    }

    // ---- one image -------------------------------------------------------------------------

    private void image(String label, Path dir, int memoryMiB) throws Exception {
        Image image = Image.fromDirectory(dir);
        out("%n## %s: %s, %d MiB (image %s)", label, dir, memoryMiB, image.key());

        // Setup: a libvirt save file, and a checkpoint.
        String savedName = "fsb-" + label + "-saved";
        int savedPort = ports.allocate(1).get(0);
        double savedBoot = libvirtCold(savedName, dir, memoryMiB, savedPort);
        Path save = work.resolve(label + ".save");
        long t = System.nanoTime();
        sh("virsh", "-c", URI, "save", savedName, save.toString());
        double saveSeconds = seconds(System.nanoTime() - t);
        domains.remove(savedName);
        out("libvirt: booted %s in %.2f s, `virsh save` %.2f s, %.1f MB", savedName, savedBoot, saveSeconds,
                Files.size(save) / 1e6);
        String cpId = "fsb-" + label;
        Checkpointer checkpointer = new Checkpointer(launcher, ports);
        Checkpoint cp = checkpointer.create(cpId, image, memoryMiB, List.of(80),
                Checkpointer.Options.defaults().withFullState(true));
        out("checkpoint %s: template boot to 200 %.2f s, full state save %.2f s (%.1f MB), device state save %.3f s (%.2f MB),"
                + " RAM file %.0f MiB", cpId, cp.timings().get("bootToReady") / 1000.0, cp.timings().get("saveFull") / 1000.0,
                Files.size(cp.fullStateFile()) / 1e6, cp.timings().get("saveDeviceState") / 1000.0,
                Files.size(cp.stateFile()) / 1e6, Files.size(cp.ramFile()) / 1048576.0);

        Cloner cloner = new Cloner(launcher);
        ClonePool.FixedCapacity capacity = new ClonePool.FixedCapacity(8, 8L * memoryMiB);
        Map<String, List<Double>> times = new LinkedHashMap<>();
        for (String path : List.of(COLD_LIBVIRT, COLD_QEMU, RESTORE_LIBVIRT, CLONE_LIBVIRT, RESTORE_QMP, COW_START, COW_POOL,
                COW_UNCACHED)) {
            times.put(path, new ArrayList<>());
        }
        Map<String, ProcInfo.Memory> memory = new LinkedHashMap<>();
        List<Double> poolRestore = new ArrayList<>();
        List<Double> poolAnswer = new ArrayList<>();
        List<Double> cowLaunch = new ArrayList<>();
        List<Double> coldCacheResident = new ArrayList<>();
        try (ClonePool pool = new ClonePool(cloner, ports, capacity, Duration.ofSeconds(60))) {
            pool.setSize(cp, 1);
            for (int round = 1; round <= runs; round++) {
                System.out.printf(Locale.ROOT, "-- %s round %d/%d%n", label, round, runs);
                // 1. libvirt cold boot
                int port = ports.allocate(1).get(0);
                String name = "fsb-" + label + "-cold";
                times.get(COLD_LIBVIRT).add(libvirtCold(name, dir, memoryMiB, port));
                if (round == 1) {
                    memory.put("booted guest, libvirt (" + COLD_LIBVIRT + ")", settle(libvirtPid(name)));
                }
                destroy(name);
                ports.release(port);

                // 2. direct QEMU cold boot
                port = ports.allocate(1).get(0);
                t = System.nanoTime();
                QemuGuest cold = launcher.launch(new GuestSpec("fsb-" + label + "-qcold", image, memoryMiB, 1,
                        GuestSpec.Ram.anonymous(), List.of(new GuestSpec.Forward(port, 80)), false), GuestState.Role.GUEST,
                        null);
                times.get(COLD_QEMU).add(awaitOk(t, port));
                if (round == 1) {
                    memory.put("booted guest, direct QEMU", settle(cold.pid()));
                }
                cold.kill();
                ports.release(port);

                // 3. libvirt restore, same name
                t = System.nanoTime();
                sh("virsh", "-c", URI, "restore", save.toString());
                domains.add(savedName);
                times.get(RESTORE_LIBVIRT).add(awaitOk(t, savedPort));
                if (round == 1) {
                    memory.put("libvirt restore (full RAM)", settle(libvirtPid(savedName)));
                }
                destroy(savedName);

                // 4. libvirt restore as a renamed clone: the save image's XML rewritten in place
                port = ports.allocate(1).get(0);
                String cloneName = "fsb-" + label + "-lvclone-" + round;
                t = System.nanoTime();
                String xml = LibvirtSaveImage.read(save).xml();
                // The original port (the first hostfwd in the saved XML) becomes this clone's.
                LibvirtSaveImage.rewriteXml(save, LibvirtSaveImage.renamed(xml, cloneName, UUID.randomUUID().toString(),
                        Map.of(savedPort, port), null));
                sh("virsh", "-c", URI, "restore", save.toString());
                domains.add(cloneName);
                domainNames.add(cloneName);
                times.get(CLONE_LIBVIRT).add(awaitOk(t, port));
                LibvirtSaveImage.rewriteXml(save, xml);
                destroy(cloneName);
                ports.release(port);

                // 5. direct QMP restore, RAM read in full, process start included
                port = ports.allocate(1).get(0);
                t = System.nanoTime();
                QemuGuest full = cloner.clone(cp, "fsb-" + label + "-full", List.of(new GuestSpec.Forward(port, 80)),
                        Cloner.Mode.FULL, Duration.ofSeconds(60));
                times.get(RESTORE_QMP).add(awaitOk(t, port));
                if (round == 1) {
                    memory.put("direct QMP restore (full RAM)", settle(full.pid()));
                }
                full.kill();
                ports.release(port);

                // 6. copy-on-write clone, process start included
                port = ports.allocate(1).get(0);
                t = System.nanoTime();
                QemuGuest cow = cloner.prepare(cp, "fsb-" + label + "-cow", List.of(new GuestSpec.Forward(port, 80)),
                        Cloner.Mode.COPY_ON_WRITE, GuestState.Role.CLONE);
                cowLaunch.add(seconds(System.nanoTime() - t));
                cloner.restore(cow, cp, Cloner.Mode.COPY_ON_WRITE, Duration.ofSeconds(60));
                times.get(COW_START).add(awaitOk(t, port));
                cow.kill();
                ports.release(port);

                // 7. copy-on-write clone from a pre-started pool process
                if (!pool.awaitFull(cp.id(), Duration.ofSeconds(60))) {
                    throw new IOException("the pool did not refill");
                }
                sleep(300);
                t = System.nanoTime();
                QemuGuest pooled = pool.claim(cp);
                long restored = System.nanoTime();
                times.get(COW_POOL).add(awaitOk(t, pooled.hostPort(80).orElseThrow()));
                poolRestore.add(seconds(restored - t));
                poolAnswer.add(times.get(COW_POOL).get(round - 1) - seconds(restored - t));
                expectPage(pooled.hostPort(80).orElseThrow());
                pool.retire(pooled);
                pool.awaitFull(cp.id(), Duration.ofSeconds(60));

                // 8. copy-on-write clone with the RAM file evicted from the page cache (a checkpoint kept
                //    on disk, first used after a host restart), process start included
                String ram = cp.ramFile().toString();
                sh("sync", ram);
                sh("dd", "if=" + ram, "iflag=nocache", "count=0", "status=none");
                coldCacheResident.add(Double.parseDouble(sh("fincore", "--bytes", "--noheadings", "--output", "RES", ram)
                        .trim()) / 1048576.0);
                port = ports.allocate(1).get(0);
                t = System.nanoTime();
                QemuGuest uncached = cloner.clone(cp, "fsb-" + label + "-uncached", List.of(new GuestSpec.Forward(port, 80)),
                        Cloner.Mode.COPY_ON_WRITE, Duration.ofSeconds(60));
                times.get(COW_UNCACHED).add(awaitOk(t, port));
                uncached.kill();
                ports.release(port);
            }

            // Memory of clones: an idle pool process, then 1 and 3 copy-on-write clones running at once.
            QemuGuest idle = launcher.guests().stream().filter(g -> g.state().role() == GuestState.Role.POOL).findFirst()
                    .orElseThrow();
            memory.put("idle pre-started pool process", ProcInfo.memory(idle.pid()));
            pool.setSize(cp, 3);
            pool.awaitFull(cp.id(), Duration.ofSeconds(60));
            sleep(500);
            List<QemuGuest> clones = new ArrayList<>();
            clones.add(pool.claim(cp));
            awaitOk(System.nanoTime(), clones.get(0).hostPort(80).orElseThrow());
            memory.put("1 copy-on-write clone", settle(clones.get(0).pid()));
            clones.add(pool.claim(cp));
            clones.add(pool.claim(cp));
            for (QemuGuest c : clones) {
                awaitOk(System.nanoTime(), c.hostPort(80).orElseThrow());
            }
            // All three answer at once, each on its own port.
            for (QemuGuest c : clones) {
                expectPage(c.hostPort(80).orElseThrow());
            }
            sleep(1000);
            for (int i = 0; i < clones.size(); i++) {
                memory.put("3 copy-on-write clones: clone " + (i + 1), ProcInfo.memory(clones.get(i).pid()));
            }
            clockSkew(label, clones.get(0));
            for (QemuGuest c : clones) {
                pool.retire(c);
            }
            pool.setSize(cp, 0);
        }

        // Three renamed libvirt clones of the one save file running at once, each on its own port.
        List<Integer> lvPorts = ports.allocate(3);
        List<String> lvNames = new ArrayList<>();
        String savedXml = LibvirtSaveImage.read(save).xml();
        for (int i = 0; i < 3; i++) {
            String name = "fsb-" + label + "-lvmulti-" + (i + 1);
            LibvirtSaveImage.rewriteXml(save, LibvirtSaveImage.renamed(savedXml, name, UUID.randomUUID().toString(),
                    Map.of(savedPort, lvPorts.get(i)), null));
            sh("virsh", "-c", URI, "restore", save.toString());
            domains.add(name);
            domainNames.add(name);
            lvNames.add(name);
            awaitOk(System.nanoTime(), lvPorts.get(i));
        }
        LibvirtSaveImage.rewriteXml(save, savedXml);
        for (int port : lvPorts) {
            expectPage(port);
        }
        sleep(1000);
        for (int i = 0; i < 3; i++) {
            memory.put("3 libvirt renamed clones: clone " + (i + 1), ProcInfo.memory(libvirtPid(lvNames.get(i))));
        }
        lvNames.forEach(this::destroy);
        lvPorts.forEach(ports::release);

        checkpointer.delete(cp);
        Files.deleteIfExists(save);
        Files.deleteIfExists(work.resolve(savedName + ".xml"));
        Files.deleteIfExists(work.resolve("fsb-" + label + "-cold.xml"));
        ports.release(savedPort);

        // The table.
        double coldLibvirt = median(times.get(COLD_LIBVIRT));
        double coldQemu = median(times.get(COLD_QEMU));
        out("%n| path (%s) | to first 200: median s | min-max s | vs libvirt cold boot | vs direct cold boot |", label);
        out("|---|---:|---:|---:|---:|");
        for (Map.Entry<String, List<Double>> e : times.entrySet()) {
            List<Double> v = e.getValue();
            double m = median(v);
            out("| %s | %.3f | %.3f-%.3f | %s | %s |", e.getKey(), m, Collections.min(v), Collections.max(v),
                    ratio(coldLibvirt, m), ratio(coldQemu, m));
        }
        out("%nbreakdown: copy-on-write process start (launch until QMP answers) median %.0f ms; pool claim: migrate-incoming"
                + " of the device state + cont median %.0f ms, then cont to first 200 median %.0f ms",
                median(cowLaunch) * 1000, median(poolRestore) * 1000, median(poolAnswer) * 1000);
        out("page cache: MiB of the RAM file resident before each uncached clone (fincore): %s", coldCacheResident);
        out("%nraw seconds: %s", times);
        out("%n| memory (%s) | RSS MiB | PSS MiB |", label);
        out("|---|---:|---:|");
        for (Map.Entry<String, ProcInfo.Memory> e : memory.entrySet()) {
            out("| %s | %.0f | %.0f |", e.getKey(), e.getValue().rssMiB(), e.getValue().pssMiB());
        }
    }

    static final String COLD_LIBVIRT = "cold boot, libvirt (virsh create)";
    static final String COLD_QEMU = "cold boot, direct QEMU";
    static final String RESTORE_LIBVIRT = "libvirt restore of a saved state (virsh restore)";
    static final String CLONE_LIBVIRT = "libvirt restore as a renamed clone (header rewrite)";
    static final String RESTORE_QMP = "direct QMP restore, full RAM read (process start included)";
    static final String COW_START = "copy-on-write clone, process start included";
    static final String COW_POOL = "copy-on-write clone from a pre-started pool process";
    static final String COW_UNCACHED = "copy-on-write clone, RAM file not in the page cache, process start included";

    // ---- helpers ---------------------------------------------------------------------------

    private double libvirtCold(String name, Path dir, int memoryMiB, int port) throws Exception {
        String xml = sh("bash", "-c", ". \"$1\"; shift; domain_xml \"$@\"", "_", GUEST_LIB.toString(), name, dir.toString(),
                Integer.toString(memoryMiB), port + ":80");
        Path file = work.resolve(name + ".xml");
        Files.writeString(file, xml);
        long t = System.nanoTime();
        sh("virsh", "-c", URI, "create", file.toString());
        domains.add(name);
        domainNames.add(name);
        return awaitOk(t, port);
    }

    private void destroy(String name) {
        try {
            sh("virsh", "-c", URI, "destroy", name);
        } catch (IOException e) {
            System.out.println("destroy " + name + ": " + e.getMessage());
        }
        domains.remove(name);
    }

    private static long libvirtPid(String name) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu/" + name + ".pid")).trim());
    }

    private static double awaitOk(long startNanos, int port) throws IOException {
        HttpProbe.awaitOk("127.0.0.1", port, "/", Duration.ofSeconds(120), ATTEMPT, PAUSE);
        return seconds(System.nanoTime() - startNanos);
    }

    private static void expectPage(int port) throws IOException {
        HttpProbe.Response r = HttpProbe.get("127.0.0.1", port, "/", Duration.ofSeconds(5));
        if (r.status() != 200) {
            throw new IOException("port " + port + " answered " + r.status());
        }
    }

    /** Memory one second after the guest answered (its first request's work done). */
    private static ProcInfo.Memory settle(long pid) throws IOException {
        sleep(1000);
        return ProcInfo.memory(pid);
    }

    /** How far a clone's clock is behind the host's (HTTP Date header, when the server sends one). */
    private void clockSkew(String label, QemuGuest clone) {
        HttpProbe.Response r = HttpProbe.get("127.0.0.1", clone.hostPort(80).orElseThrow(), "/", Duration.ofSeconds(5));
        String date = r.head().lines().filter(l -> l.regionMatches(true, 0, "Date:", 0, 5)).findFirst().orElse(null);
        if (date == null) {
            out("clock: the %s server sends no Date header", label);
            return;
        }
        try {
            Instant guest = java.time.ZonedDateTime.parse(date.substring(5).trim(),
                    java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            out("clock: a clone's HTTP Date is %d s behind the host's (the guest clock resumes at the checkpoint's time)",
                    Duration.between(guest, Instant.now()).getSeconds());
        } catch (RuntimeException e) {
            out("clock: unparsable Date header %s", date);
        }
    }

    private void cleanUp() {
        for (String d : new ArrayList<>(domains)) {
            destroy(d);
        }
        try {
            launcher.recover();
        } catch (IOException e) {
            System.out.println("recover: " + e.getMessage());
        }
        for (QemuGuest g : launcher.guests()) {
            g.kill();
        }
        // What an interrupted run leaves in the work directory: checkpoints, save images, domain XML.
        try (var files = Files.list(work)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.endsWith(".save") || (n.startsWith("fsb-") && n.endsWith(".xml"))) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            System.out.println("cannot clean " + work + ": " + e.getMessage());
        }
        try (var dirs = Files.list(launcher.settings().checkpointDir())) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                if (d.getFileName().toString().startsWith("fsb-")) {
                    try (var inside = Files.list(d)) {
                        for (Path f : (Iterable<Path>) inside::iterator) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Files.deleteIfExists(d);
                }
            }
        } catch (IOException e) {
            System.out.println("cannot clean the checkpoints: " + e.getMessage());
        }
        try {
            Files.deleteIfExists(launcher.settings().stateDir());
        } catch (IOException e) {
            // not empty: someone else's guests, or ours that would not die (said above)
        }
        for (String name : new ArrayList<>(domainNames)) {
            for (String suffix : List.of(".log", "-serial.log")) {
                try {
                    Files.deleteIfExists(Path.of("/var/log/libvirt/qemu/" + name + suffix));
                } catch (IOException e) {
                    System.out.println("cannot remove the log of " + name + ": " + e.getMessage());
                }
            }
        }
    }

    private static String ratio(double reference, double value) {
        return String.format(Locale.ROOT, "%.1fx", reference / value);
    }

    private static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static String memTotal() throws IOException {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1048576 + " GiB").orElse("?");
    }

    private void out(String format, Object... args) {
        String line = String.format(Locale.ROOT, format, args);
        System.out.println(line);
        report.append(line).append('\n');
    }

    private static String sh(String... argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", argv) + " failed: " + new String(out, StandardCharsets.UTF_8).trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
