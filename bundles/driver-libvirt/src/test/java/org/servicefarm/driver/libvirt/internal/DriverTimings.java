package org.servicefarm.driver.libvirt.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.VmEvent;

/**
 * Prints how long the driver's calls take on libvirt's test driver, in a fresh JVM (not part of the tests).
 * Run from bundles/driver-libvirt after {@code mvn install}:
 * <pre>
 * mvn -q -o dependency:build-classpath -Dmdep.outputFile=target/cp.txt &amp;&amp; \
 *   java -cp target/classes:target/test-classes:$(cat target/cp.txt) \
 *   org.servicefarm.driver.libvirt.internal.DriverTimings 200
 * </pre>
 */
public final class DriverTimings {

    private DriverTimings() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path dir = Files.createTempDirectory("servicefarm-timings");
        BlockingQueue<VmEvent> events = new LinkedBlockingQueue<>();

        long t0 = System.nanoTime();
        LibvirtDriver driver = Fixtures.driver(dir.resolve("state"), dir);
        long activateNs = System.nanoTime() - t0;
        Path alphaNode = Fixtures.nodeFile(dir, "alpha", 2, 2048);
        Path betaNode = Fixtures.nodeFile(dir, "beta", 4, 4096);
        t0 = System.nanoTime();
        HostConnection alpha = driver.connect(Fixtures.testHost("alpha", alphaNode, Map.of()), events::add);
        long firstConnectNs = System.nanoTime() - t0;
        t0 = System.nanoTime();
        HostConnection beta = driver.connect(Fixtures.testHost("beta", betaNode, Map.of()), events::add);
        long secondConnectNs = System.nanoTime() - t0;

        String[] ops = {"define", "start", "suspend", "resume", "save", "restore", "guests", "destroy",
                "event latency (suspend -> SLEEPING delivered)"};
        Map<String, long[]> samples = new LinkedHashMap<>();
        for (String op : ops) {
            samples.put(op, new long[rounds]);
        }
        for (int i = 0; i < rounds; i++) {
            String vmId = "vm-" + i;
            HostConnection host = i % 2 == 0 ? alpha : beta;
            samples.get("define")[i] = time(() -> host.define(Fixtures.spec(vmId, Fixtures.http())));
            samples.get("start")[i] = time(() -> host.start(vmId));
            awaitState(events, VmState.ACTIVE);
            long suspendedAt = System.nanoTime();
            samples.get("suspend")[i] = time(() -> host.suspend(vmId));
            awaitState(events, VmState.SLEEPING);
            samples.get("event latency (suspend -> SLEEPING delivered)")[i] = System.nanoTime() - suspendedAt;
            samples.get("resume")[i] = time(() -> host.resume(vmId));
            samples.get("save")[i] = time(() -> host.save(vmId));
            samples.get("restore")[i] = time(() -> host.restore(vmId));
            samples.get("guests")[i] = time(host::guests);
            samples.get("destroy")[i] = time(() -> host.destroy(vmId));
            awaitState(events, VmState.DESTROYED);
        }
        alpha.close();
        beta.close();
        driver.deactivate();

        System.out.printf("libvirt %s, %d rounds over 2 test-driver hosts%n", libvirtVersion(), rounds);
        System.out.printf("driver activation (loads libvirt, starts event loop): %.1f ms%n", activateNs / 1e6);
        System.out.printf("first host connection: %.1f ms; second: %.1f ms%n", firstConnectNs / 1e6,
                secondConnectNs / 1e6);
        System.out.printf("%-46s %9s %9s %9s%n", "operation", "p50 ms", "p99 ms", "max ms");
        for (var entry : samples.entrySet()) {
            long[] values = entry.getValue().clone();
            Arrays.sort(values);
            System.out.printf("%-46s %9.3f %9.3f %9.3f%n", entry.getKey(), values[values.length / 2] / 1e6,
                    values[(int) Math.min(values.length - 1, Math.ceil(values.length * 0.99) - 1)] / 1e6,
                    values[values.length - 1] / 1e6);
        }
    }

    private static String libvirtVersion() throws Exception {
        long v = org.libvirt.Library.getVersion();
        return (v / 1_000_000) + "." + (v / 1000 % 1000) + "." + (v % 1000);
    }

    /** Skips to the next event with the given state: every VM's events arrive in order. */
    private static void awaitState(BlockingQueue<VmEvent> events, VmState state) throws InterruptedException {
        List<VmEvent> skipped = new ArrayList<>();
        while (true) {
            VmEvent event = events.poll(10, TimeUnit.SECONDS);
            if (event == null) {
                throw new IllegalStateException("no " + state + " event within 10 s; saw " + skipped);
            }
            if (event.observed() == state) {
                return;
            }
            skipped.add(event);
        }
    }

    private interface Op {
        void run() throws Exception;
    }

    private static long time(Op op) throws Exception {
        long start = System.nanoTime();
        op.run();
        return System.nanoTime() - start;
    }
}
