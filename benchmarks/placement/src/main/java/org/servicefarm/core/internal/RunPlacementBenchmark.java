package org.servicefarm.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link PlacementBenchmark} for each farm size and thread count and prints one table: decisions per second
 * (JMH throughput mode) and p50/p99 per decision (JMH sample-time mode), then the growth from the smallest farm to
 * the largest. Settings are system properties: {@code hosts} (1000,10000,100000), {@code threads} (1,8),
 * {@code strategy} (weighted; any of {@link PlacementBenchmark#BLENDS}), {@code warmup} and {@code measure}
 * (seconds per iteration, 2 and 3), {@code iterations} (3), {@code out} (a file for the table).
 */
public final class RunPlacementBenchmark {

    private RunPlacementBenchmark() {
    }

    /** One row: a farm size and a thread count. */
    record Row(int hosts, int threads, double decisionsPerSecond, double p50Micros, double p99Micros) {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        List<Integer> sizes = ints(System.getProperty("hosts", "1000,10000,100000"));
        List<Integer> threads = ints(System.getProperty("threads", "1,8"));
        String strategy = System.getProperty("strategy", "weighted");
        int warmup = Integer.getInteger("warmup", 2);
        int measure = Integer.getInteger("measure", 3);
        int iterations = Integer.getInteger("iterations", 3);
        List<Row> rows = new ArrayList<>();
        for (int size : sizes) {
            for (int t : threads) {
                Options options = new OptionsBuilder()
                        .include(PlacementBenchmark.class.getName() + ".decide")
                        .param("hosts", Integer.toString(size))
                        .param("strategy", strategy)
                        .mode(Mode.Throughput).mode(Mode.SampleTime)
                        .threads(t)
                        .forks(1)
                        .jvmArgsAppend("-Xmx3g", "-Xms1g")
                        .warmupIterations(iterations).warmupTime(TimeValue.seconds(warmup))
                        .measurementIterations(iterations).measurementTime(TimeValue.seconds(measure))
                        .shouldFailOnError(true)
                        .build();
                Collection<RunResult> results = new Runner(options).run();
                double perSecond = 0;
                double p50 = 0;
                double p99 = 0;
                for (RunResult result : results) {
                    Mode mode = result.getParams().getMode();
                    if (mode == Mode.Throughput) {
                        perSecond = result.getPrimaryResult().getScore() * 1e6; // ops/us
                    } else if (mode == Mode.SampleTime) {
                        p50 = result.getPrimaryResult().getStatistics().getPercentile(50);
                        p99 = result.getPrimaryResult().getStatistics().getPercentile(99);
                    }
                }
                rows.add(new Row(size, t, perSecond, p50, p99));
            }
        }
        String table = table(strategy, rows, sizes, threads);
        System.out.println();
        System.out.print(table);
        String out = System.getProperty("out");
        if (out != null) {
            Files.writeString(Path.of(out), table);
        }
    }

    static String table(String strategy, List<Row> rows, List<Integer> sizes, List<Integer> threads) {
        StringBuilder text = new StringBuilder();
        text.append("strategy ").append(strategy).append(" (").append(PlacementBenchmark.BLENDS.get(strategy))
                .append("), 10 VMs per host, every filter on\n\n");
        text.append("| hosts | threads | decisions/s | p50 µs | p99 µs |\n|---:|---:|---:|---:|---:|\n");
        for (Row row : rows) {
            text.append(String.format(Locale.ROOT, "| %,d | %d | %,.0f | %.1f | %.1f |%n", row.hosts(), row.threads(),
                    row.decisionsPerSecond(), row.p50Micros(), row.p99Micros()));
        }
        if (sizes.size() > 1) {
            int smallest = sizes.get(0);
            int largest = sizes.get(sizes.size() - 1);
            text.append(String.format(Locale.ROOT, "%nGrowth from %,d to %,d hosts (%dx the hosts):%n", smallest,
                    largest, largest / smallest));
            Map<Integer, Row[]> byThreads = new LinkedHashMap<>();
            for (int t : threads) {
                Row first = null;
                Row last = null;
                for (Row row : rows) {
                    if (row.threads() == t && row.hosts() == smallest) {
                        first = row;
                    }
                    if (row.threads() == t && row.hosts() == largest) {
                        last = row;
                    }
                }
                byThreads.put(t, new Row[] {first, last});
            }
            byThreads.forEach((t, pair) -> text.append(String.format(Locale.ROOT,
                    "- %d thread(s): p50 x%.2f, p99 x%.2f, time per decision (1/throughput) x%.2f%n", t,
                    pair[1].p50Micros() / pair[0].p50Micros(), pair[1].p99Micros() / pair[0].p99Micros(),
                    pair[0].decisionsPerSecond() / pair[1].decisionsPerSecond())));
        }
        return text.toString();
    }

    private static List<Integer> ints(String csv) {
        List<Integer> values = new ArrayList<>();
        for (String part : csv.split(",")) {
            values.add(Integer.parseInt(part.trim()));
        }
        return values;
    }
}
