package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.driver.HostConnection;

/**
 * The driver's own resume and restore of a real guest, called directly (no appliance, no request path), each until
 * the guest's counter answers: the lifecycle benchmark's "driver alone" column (benchmarks/lifecycle/run runs it; not
 * part of the tests). The guest is a domain whose farm metadata names host {@code HOST}, so the driver adopts it.
 * <pre>
 * java -cp target/classes:target/test-classes:CLASSPATH org.servicefarm.driver.libvirt.internal.DriverWakeTimings \
 *     URI HOST STATE_DIR PORT_RANGE VM_ID PORT ROUNDS LEVEL
 * </pre>
 * The GET is curl's, as in the benchmark's other columns. Prints one line per timed wake: {@code direct-resume|direct-restore-TIER total_ms call_ms count}.
 */
public final class DriverWakeTimings {

    private static final Pattern COUNT = Pattern.compile("counter (\\d+)");

    private DriverWakeTimings() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        String hostName = args[1];
        Path stateDir = Path.of(args[2]);
        String portRange = args[3];
        String vmId = args[4];
        int port = Integer.parseInt(args[5]);
        int rounds = Integer.parseInt(args[6]);
        int level = Integer.parseInt(args[7]);
        Path nodes = Files.createTempDirectory("servicefarm-wake-timings");
        LibvirtDriver driver = Fixtures.driver(stateDir, nodes);
        HostConnection host = driver.connect(Fixtures.host(hostName, uri, Map.of("portRange", portRange)), e -> { });
        try {
            long last = count(port);
            // the image's base for DELTA on this host: the guest's first saved state, as the farm's driver makes it
            host.archive(vmId, ArchiveTier.DELTA, level);
            host.restore(vmId);
            last = expectNext(last, count(port));
            for (int round = 0; round < rounds; round++) {
                host.suspend(vmId);
                Thread.sleep(500);
                long start = System.nanoTime();
                host.resume(vmId);
                long call = System.nanoTime() - start;
                long now = count(port);
                print("direct-resume", start, call, now);
                last = expectNext(last, now);
                for (ArchiveTier tier : ArchiveTier.values()) {
                    host.archive(vmId, ArchiveTier.SAVED, level);
                    if (tier != ArchiveTier.SAVED) {
                        host.archive(vmId, tier, level);
                    }
                    Thread.sleep(500);
                    start = System.nanoTime();
                    host.restore(vmId);
                    call = System.nanoTime() - start;
                    now = count(port);
                    print("direct-restore-" + tier, start, call, now);
                    last = expectNext(last, now);
                }
            }
        } finally {
            host.close();
            driver.deactivate();
        }
    }

    private static void print(String what, long start, long callNanos, long count) {
        System.out.printf("%s %d %d %d%n", what, Math.round((System.nanoTime() - start) / 1e6),
                Math.round(callNanos / 1e6), count);
    }

    private static long expectNext(long previous, long now) {
        if (now != previous + 1) {
            throw new IllegalStateException("the count did not go on: " + previous + " then " + now);
        }
        return now;
    }

    /**
     * GET /cgi-bin/count with curl, as the benchmark's other columns do, until the guest answers (every 5 ms, at most
     * 60 s). Sent again only when the guest cannot have read it (curl exit 7 refused, 52 closed unanswered, 56 reset:
     * QEMU's forward accepts before the guest listens), so that the count goes up once.
     */
    private static long count(int port) throws IOException, InterruptedException {
        long giveUp = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < giveUp) {
            Process curl = new ProcessBuilder("curl", "-s", "-m", "60", "http://127.0.0.1:" + port + "/cgi-bin/count")
                    .redirectErrorStream(true).start();
            String answer = new String(curl.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            int exit = curl.waitFor();
            Matcher m = COUNT.matcher(answer);
            if (exit == 0 && m.find()) {
                return Long.parseLong(m.group(1));
            }
            if (exit != 7 && exit != 52 && exit != 56) {
                throw new IllegalStateException("port " + port + ": curl exit " + exit + ", answer '" + answer + "'");
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("port " + port + " did not answer within 60 s");
    }
}
