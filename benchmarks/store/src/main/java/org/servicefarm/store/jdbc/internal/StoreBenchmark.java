package org.servicefarm.store.jdbc.internal;

import java.lang.annotation.Annotation;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.store.VmStore;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * The JDBC store at scale, on each database it runs on, with the pool the appliance uses (HikariCP):
 * <ul>
 * <li>creations per second: each one as the request path writes it (a new row with its claims of host room and of
 * its combination's creation, then CREATING → STARTING → ACTIVE, every step written through), from several
 * threads;</li>
 * <li>grants per second: changes within ACTIVE (written behind), against the same changes on a map in memory (the
 * in-memory store's mechanism) as a ratio;</li>
 * <li>a restart: the time a new store takes to load every row, and the heap the loaded rows hold.</li>
 * </ul>
 * Arguments: {@code rows=N threads=N products=h2,postgresql pgurl=URL dir=DIR} (benchmarks/run-store checks them).
 */
public final class StoreBenchmark {

    private static final List<String> OPTIONS = List.of("rows", "threads", "products", "pgurl", "dir");
    private static final String USAGE = "rows=N threads=N products=h2,postgresql pgurl=URL dir=DIR";

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new ConcurrentHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq < 0 || !OPTIONS.contains(a.substring(0, eq))) {
                // benchmarks/run-store checks the values; this is for a hand-typed argument
                System.err.println("not an argument: '" + a + "'; usage: " + USAGE);
                System.exit(2);
            }
            opts.put(a.substring(0, eq), a.substring(eq + 1));
        }
        // Flyway logs through java.util.logging outside OSGi: its migration notes are not results
        java.util.logging.Logger.getLogger("org.flywaydb").setLevel(java.util.logging.Level.WARNING);
        int rows = Integer.parseInt(opts.getOrDefault("rows", "100000"));
        int threads = Integer.parseInt(opts.getOrDefault("threads", "8"));
        Path dir = Path.of(opts.getOrDefault("dir", "target/store-bench"));
        System.out.printf("rows %,d, threads %d, %d cores, heap max %d MiB%n", rows, threads,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        System.out.println("| database | creations/s (claim + 2 moves, each written through) | grants/s | grants/s in memory | ratio "
                + "| load of all rows | heap of loaded rows |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (String product : opts.getOrDefault("products", "h2").split(",")) {
            HikariConfig pool = new HikariConfig();
            pool.setMaximumPoolSize(10);
            if (product.equals("h2")) {
                Files.createDirectories(dir);
                Path file = dir.resolve("store").toAbsolutePath();
                Files.deleteIfExists(Path.of(file + ".mv.db"));
                pool.setJdbcUrl("jdbc:h2:" + file);
            } else {
                pool.setJdbcUrl(opts.get("pgurl"));
                pool.setUsername("servicefarm");
                pool.setPassword("servicefarm");
            }
            try (HikariDataSource ds = new HikariDataSource(pool)) {
                run(product, ds, rows, threads);
            }
        }
    }

    private static void run(String product, DataSource ds, int rows, int threads) throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            for (String table : List.of("vm", "audit", "leader", "host_claim", "offering_claim", "appliance",
                    "host_registration", "demand", "image_catalog", "schema_history")) {
                s.execute("DROP TABLE IF EXISTS " + table);
            }
        }
        JdbcVmStore store = open(ds, "bench");
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        // one creation per combination at a time, as the request path makes them: the threads' concurrent creations are
        // of different combinations
        Offering[] offerings = new Offering[10_000];
        for (int i = 0; i < offerings.length; i++) {
            offerings[i] = new Offering("svc" + i, "1.0", new Environment("debian-12", "nginx-1.22", "php-8.2",
                    List.of()), "standard");
        }
        Instant now = Instant.now();
        long start = System.nanoTime();
        List<Future<?>> work = new ArrayList<>();
        AtomicLong next = new AtomicLong();
        for (int t = 0; t < threads; t++) {
            work.add(pool.submit(() -> {
                for (long i; (i = next.getAndIncrement()) < rows; ) {
                    String id = String.format("sf-%012x", i);
                    VmRecord vm = new VmRecord(id, "host-" + (i % 1000), "img-" + (i % 100),
                            offerings[(int) (i % offerings.length)], Map.of(), VmState.CREATING,
                            new Capacity(1, 256, 1), now, null, 0, "placed on host-" + (i % 1000));
                    // as the request path adds a VM: claiming room on its host and its combination's creation
                    if (!(store.claim(vm, HOST_CAPACITY) instanceof VmStore.Claim.Added)) {
                        throw new IllegalStateException("the claim of " + id + " was refused");
                    }
                    store.transition(id, VmState.CREATING, VmState.STARTING, v -> v);
                    store.transition(id, VmState.STARTING, VmState.ACTIVE,
                            v -> v.withEndpoints(Map.of(v.offering().service(),
                                    new Endpoint("127.0.0.1", 24000 + (int) (v.id().hashCode() & 0x1fff)))));
                }
                return null;
            }));
        }
        for (Future<?> f : work) {
            f.get();
        }
        double creations = rows / seconds(start);

        int grants = rows * 2;
        double stored = grants(pool, threads, grants, i -> {
            String id = String.format("sf-%012x", i % rows);
            store.transition(id, VmState.ACTIVE, VmState.ACTIVE, v -> v.granted(now));
        });
        Map<String, VmRecord> memory = new ConcurrentHashMap<>();
        store.vms().forEach(v -> memory.put(v.id(), v));
        double inMemory = grants(pool, threads, grants, i -> {
            String id = String.format("sf-%012x", i % rows);
            memory.computeIfPresent(id, (k, v) -> v.state() == VmState.ACTIVE ? v.granted(now) : v);
        });
        store.deactivate();
        pool.shutdown();
        memory.clear();

        long before = usedHeap();
        long loadStart = System.nanoTime();
        JdbcVmStore restarted = open(ds, "bench-restarted");
        double load = seconds(loadStart);
        long after = usedHeap();
        if (restarted.vms().size() != rows) {
            throw new IllegalStateException("loaded " + restarted.vms().size() + " rows of " + rows);
        }
        System.out.printf("| %s | %,.0f | %,.0f | %,.0f | %.2f | %.2f s | %d MiB |%n", product, creations, stored,
                inMemory, stored / inMemory, load, (after - before) >> 20);
        restarted.deactivate();
    }

    private interface Grant {
        void apply(long i) throws Exception;
    }

    private static double grants(ExecutorService pool, int threads, int count, Grant grant) throws Exception {
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime();
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            work.add(pool.submit(() -> {
                for (long i; (i = next.getAndIncrement()) < count; ) {
                    grant.apply(i);
                }
                return null;
            }));
        }
        for (Future<?> f : work) {
            f.get();
        }
        return count / seconds(start);
    }

    /** Each of the 1,000 hosts holds its 100 of the rows with room to spare. */
    private static final Capacity HOST_CAPACITY = new Capacity(1000, 1_000_000, 1000);

    private static JdbcVmStore open(DataSource ds, String name) throws Exception {
        Database.Config config = new Database.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return Database.Config.class;
            }

            @Override
            public String dataSource_target() {
                return "";
            }

            @Override
            public String applianceName() {
                return name;
            }

            @Override
            public long writeBehindMs() {
                return 1000;
            }

            @Override
            public int historyLimit() {
                return 1000;
            }

            @Override
            public long pollMs() {
                return 500;
            }

            @Override
            public long applianceLeaseMs() {
                return 15_000;
            }
        };
        JdbcVmStore store = new JdbcVmStore();
        store.database = new Database(ds, config, null);
        store.activate(config, null);
        return store;
    }

    private static long usedHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
