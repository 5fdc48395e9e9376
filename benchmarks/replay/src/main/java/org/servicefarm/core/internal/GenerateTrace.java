package org.servicefarm.core.internal;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import org.servicefarm.api.Offering;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * {@code benchmarks/generate-trace --out DIR [--seed N] [--combinations N] [--requests N] [--hours H]}: a synthetic
 * trace with a fixed seed, written in both formats: {@code DIR/trace.csv} + {@code DIR/trace.json} (farm) and
 * {@code DIR/azure2019.csv} (the Azure Functions 2019 per-minute counts of the same requests). Its combinations mix
 * four kinds, in the shares the Azure characterisation suggests (most functions are rare or timer-driven, a few carry
 * most of the load):
 * <ul>
 * <li>popular (15%): Poisson arrivals at tens of requests a minute, rising and falling over the day; they carry
 * whatever the other kinds leave of the requested total;</li>
 * <li>periodic (30%): a timer every 2 to 240 minutes, a few seconds of jitter, sometimes several requests a tick;</li>
 * <li>bursty (30%): bursts (Poisson, 30 minutes to 3 hours apart) of 5 to 150 requests a few seconds apart;</li>
 * <li>rare (25%): Poisson arrivals 30 minutes to 8 hours apart on average.</li>
 * </ul>
 */
public final class GenerateTrace {

    private static final long DAY = 86_400_000L;

    private GenerateTrace() {
    }

    /** One combination's requests, in ms from the start. */
    record Series(String name, String kind, String trigger, List<Long> times) {
    }

    public static void main(String[] args) throws IOException {
        try {
            generate(CommandLine.parse(args, java.util.Set.of("out", "seed", "combinations", "requests", "hours"),
                    java.util.Set.of()));
        } catch (IllegalArgumentException e) { // an option it cannot take: said plainly, no stack trace
            System.err.println("generate-trace: " + e.getMessage());
            System.err.println("usage: benchmarks/generate-trace --out DIR [--seed N] [--combinations N] "
                    + "[--requests N] [--hours H]");
            System.exit(2);
        }
    }

    private static void generate(CommandLine options) throws IOException {
        if (!options.has("out")) {
            throw new CommandLine.Invalid("--out DIR is required");
        }
        Path out = Path.of(options.text("out", null));
        long seed = options.whole("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE);
        Path etc = Path.of(System.getProperty("servicefarm.etc", "etc"));
        List<Offering> offerings = ReplayTrace.offerings(TraceReplay.shippedConfig(etc, "org.servicefarm.catalog.cfg"));
        // each combination is a distinct viable offering of the catalog
        int combinations = (int) options.whole("combinations", 100, 1, offerings.size());
        long requests = options.whole("requests", 700_000, 0, Long.MAX_VALUE);
        // up to a year: the azure2019 file has a column per minute
        long length = Math.round(options.number("hours", 24, 0.1, 24 * 366) * 3_600_000L);
        List<Series> series = generate(new Random(seed), combinations, requests, length);
        Files.createDirectories(out);
        write(out, series, offerings, length);
        long total = series.stream().mapToLong(s -> s.times().size()).sum();
        System.out.printf("%d combinations, %d requests over %.1f h (seed %d) in %s: trace.csv + trace.json (farm), "
                + "azure2019.csv%n", series.size(), total, length / 3.6e6, seed, out);
    }

    static List<Series> generate(Random random, int combinations, long requests, long length) {
        int popular = Math.max(1, Math.round(combinations * 0.15f));
        int periodic = Math.round(combinations * 0.30f);
        int bursty = Math.round(combinations * 0.30f);
        int rare = combinations - popular - periodic - bursty;
        List<Series> all = new ArrayList<>();
        int[] periods = {2, 3, 5, 8, 12, 15, 20, 30, 45, 60, 90, 120, 180, 240};
        for (int i = 0; i < periodic; i++) {
            int minutes = periods[random.nextInt(periods.length)];
            int perTick = random.nextInt(4) == 0 ? 1 + random.nextInt(5) : 1;
            long jitter = 1000 + random.nextInt(10_000);
            long phase = (long) (random.nextDouble() * minutes * 60_000L);
            List<Long> times = new ArrayList<>();
            for (long t = phase; t < length; t += minutes * 60_000L) {
                for (int k = 0; k < perTick; k++) {
                    long at = t + (long) (random.nextGaussian() * jitter) + k * 200L;
                    if (at >= 0 && at < length) {
                        times.add(at);
                    }
                }
            }
            all.add(new Series(String.format(Locale.ROOT, "periodic-%02d-every-%dmin", i, minutes), "periodic",
                    "timer", times));
        }
        for (int i = 0; i < bursty; i++) {
            double meanGap = (30 + random.nextDouble() * 150) * 60_000;
            int size = 5 + random.nextInt(146);
            double spacing = 1000 + random.nextDouble() * 9000;
            List<Long> times = new ArrayList<>();
            for (double t = exponential(random, meanGap); t < length; t += exponential(random, meanGap)) {
                double at = t;
                for (int k = 0; k < size && at < length; k++) {
                    times.add((long) at);
                    at += exponential(random, spacing);
                }
                t = at;
            }
            all.add(new Series(String.format(Locale.ROOT, "bursty-%02d", i), "bursty", "queue", times));
        }
        for (int i = 0; i < rare; i++) {
            double meanGap = (30 + random.nextDouble() * 450) * 60_000;
            List<Long> times = new ArrayList<>();
            for (double t = exponential(random, meanGap); t < length; t += exponential(random, meanGap)) {
                times.add((long) t);
            }
            all.add(new Series(String.format(Locale.ROOT, "rare-%02d", i), "rare", "http", times));
        }
        long others = all.stream().mapToLong(s -> s.times().size()).sum();
        double perPopular = Math.max(0, requests - others) / (double) popular;
        // the daily swing's integral over the trace, so a shorter trace still gets about the requests asked for
        double swing = 0;
        for (long t = 0; t < length; t += 60_000) {
            swing += swing(t) * Math.min(60_000, length - t);
        }
        for (int i = 0; i < popular; i++) {
            // weights 1..popular, so the popular ones differ; a daily swing between 0.3x and 1.7x of the mean rate
            double share = perPopular * 2.0 * (i + 1) / (popular + 1);
            double meanRate = share / swing; // requests per ms, before the swing
            List<Long> times = new ArrayList<>();
            double t = 0;
            double peak = meanRate * 1.7 + 1e-12;
            while (true) {
                t += exponential(random, 1 / peak); // thinning: candidates at the peak rate, kept by the rate then
                if (t >= length) {
                    break;
                }
                double rate = meanRate * swing((long) t);
                if (random.nextDouble() < rate / peak) {
                    times.add((long) t);
                }
            }
            all.add(new Series(String.format(Locale.ROOT, "popular-%02d", i), "popular", "http", times));
        }
        return all;
    }

    /** The popular combinations' daily swing: 0.3x of their mean rate at midnight, 1.7x at noon. */
    private static double swing(long t) {
        return 1 + 0.7 * Math.sin(2 * Math.PI * t / DAY - Math.PI / 2);
    }

    private static double exponential(Random random, double mean) {
        return -Math.log(1 - random.nextDouble()) * mean;
    }

    private static void write(Path out, List<Series> series, List<Offering> offerings, long length) throws IOException {
        Map<String, Object> bodies = new LinkedHashMap<>();
        List<long[]> events = new ArrayList<>();
        for (int c = 0; c < series.size(); c++) {
            bodies.put(series.get(c).name(), Trace.body(offerings.get(c)));
            for (long t : series.get(c).times()) {
                events.add(new long[] {t, c});
            }
        }
        events.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        try (BufferedWriter w = Files.newBufferedWriter(out.resolve("trace.csv"))) {
            w.write("t_ms,combination\n");
            for (long[] e : events) {
                w.write(e[0] + "," + series.get((int) e[1]).name() + "\n");
            }
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve("trace.json").toFile(),
                bodies);
        int minutes = (int) ((length + 59_999) / 60_000);
        try (BufferedWriter w = Files.newBufferedWriter(out.resolve("azure2019.csv"))) {
            w.write("HashOwner,HashApp,HashFunction,Trigger");
            for (int m = 1; m <= minutes; m++) {
                w.write("," + m);
            }
            w.write("\n");
            for (int c = 0; c < series.size(); c++) {
                Series s = series.get(c);
                int[] counts = new int[minutes];
                s.times().forEach(t -> counts[(int) (t / 60_000)]++);
                w.write(String.format(Locale.ROOT, "owner%08x,app%08x,%s,%s", s.name().hashCode(), c, s.name(),
                        s.trigger()));
                for (int count : counts) {
                    w.write("," + count);
                }
                w.write("\n");
            }
        }
    }
}
