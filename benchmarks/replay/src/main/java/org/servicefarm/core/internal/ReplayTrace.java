package org.servicefarm.core.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.servicefarm.api.Offering;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.keepalive.adaptive.internal.AdaptiveKeepAlive;
import org.servicefarm.keepalive.fixed.internal.FixedKeepAlive;
import org.servicefarm.keepalive.histogram.internal.HistogramKeepAlive;

/**
 * {@code benchmarks/replay-trace --trace FILE [--format farm|azure2019] [--combinations FILE.json] [--policy NAME]...}:
 * replays the trace under each policy (all shipped ones when none is named) and prints one JSON object per policy,
 * each on its own line, last. A policy is {@code keepalive-fixed}, {@code keepalive-histogram} or
 * {@code keepalive-adaptive}, configured by its shipped etc/ file, optionally followed by overrides:
 * {@code keepalive-adaptive:hazard.threshold=0.05;samples.min=3}. Other options: {@code --create-ms},
 * {@code --restore-ms}, {@code --resume-ms} (the simulated hypervisor's times), {@code --sweep-s}, {@code --vm-cap},
 * {@code --seed} (azure2019's spreading within a minute, and its sample), {@code --functions N} (azure2019: a
 * seeded uniform sample of N functions, for a file with more than the catalog's offerings), {@code --memory FILE}
 * (azure2019: the dataset's application memory file; resident time is also given weighed by each function's
 * application's memory, {@code residentGiBHours}, as the paper weighs wasted memory), {@code --details true}
 * (each combination's figures, and their sums by kind: the part of a name before its first {@code -}, as the
 * generator names them),
 * {@code --restart-at HOURS} (the policy restarts then: {@link TraceReplay.Restart}) with {@code --history-h H}
 * (the hours of request counts it is taught then; 24 by default, 0: none), {@code --warm-up-h H} (the first H hours
 * are replayed, and the policies learn from them, but only what comes after is counted).
 */
public final class ReplayTrace {

    /** The fixed policy the issue compares with: in memory 10 minutes after its last use, then archived. */
    static final String FIXED_10_MIN = "keepalive-fixed:sleep.after.s=600;archive.after.s=1;inDemand.requestsPerMinute=0";
    static final List<String> SHIPPED = List.of(FIXED_10_MIN, "keepalive-histogram", "keepalive-adaptive");

    private ReplayTrace() {
    }

    public static void main(String[] args) throws Exception {
        try {
            replay(args);
        } catch (IllegalArgumentException e) { // a trace or an option it cannot take: said plainly, no stack trace
            System.err.println("replay-trace: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void replay(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        List<String> policies = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || i + 1 == args.length) {
                usage("unexpected '" + arg + "'");
            }
            String value = args[++i];
            if (arg.equals("--policy")) {
                policies.add(value);
            } else {
                options.put(arg.substring(2), value);
            }
        }
        if (!options.containsKey("trace")) {
            usage("--trace FILE is required");
        }
        Path etc = Path.of(System.getProperty("servicefarm.etc", "etc"));
        Map<String, Object> catalog = TraceReplay.shippedConfig(etc, "org.servicefarm.catalog.cfg");
        String format = options.getOrDefault("format", "farm");
        Path tracePath = Path.of(options.get("trace"));
        long loading = System.nanoTime();
        if (options.containsKey("functions") && !format.equals("azure2019")) {
            throw usage("--functions N is for the azure2019 format");
        }
        if (options.containsKey("memory") && !format.equals("azure2019")) {
            throw usage("--memory FILE is for the azure2019 format");
        }
        Trace trace = switch (format) {
            case "farm" -> {
                Path json = options.containsKey("combinations") ? Path.of(options.get("combinations"))
                        : sibling(tracePath, ".json");
                yield Trace.farm(tracePath, json);
            }
            case "azure2019" -> Trace.azure2019(tracePath, offerings(catalog),
                    Long.parseLong(options.getOrDefault("seed", "2019")), functions(options));
            default -> throw usage("--format must be farm or azure2019, not '" + format + "'");
        };
        ApplicationMemory memory = null;
        if (options.containsKey("memory")) {
            memory = ApplicationMemory.read(Path.of(options.get("memory")));
            memory.covers(trace);
        }
        System.out.printf("trace %s (%s): %d requests, %d combinations, %.1f h; read in %.1f s%n", tracePath, format,
                trace.size(), trace.names.size(), trace.end() / 3.6e6, (System.nanoTime() - loading) / 1e9);
        SimulatedHypervisor.Timings m = SimulatedHypervisor.Timings.MEASURED;
        SimulatedHypervisor.Timings timings = new SimulatedHypervisor.Timings(
                millis(options, "create-ms", m.create()), millis(options, "resume-ms", m.resume()),
                millis(options, "restore-ms", m.restore()), m.compressedExtra(), m.deltaExtra(),
                millis(options, "checkpoint-ms", m.checkpointStart()));
        Map<String, Object> manager = new HashMap<>();
        if (options.containsKey("vm-cap")) {
            manager.put("vm.cap", Integer.parseInt(options.get("vm-cap")));
        }
        // off by default: the hypervisor's times are libvirt's (a restore is virsh restore), whose hosts make none
        String checkpoints = options.getOrDefault("checkpoints", "off");
        if (!checkpoints.equals("on") && !checkpoints.equals("off")) {
            throw usage("--checkpoints must be on or off, not '" + checkpoints + "'");
        }
        TraceReplay.Settings settings = new TraceReplay.Settings(timings,
                java.time.Duration.ofSeconds(Long.parseLong(options.getOrDefault("sweep-s", "15"))), manager, 4,
                checkpoints.equals("on")).withWarmUp(warmUp(options, trace));
        java.time.Duration restartAt = options.containsKey("restart-at")
                ? java.time.Duration.ofMinutes(Math.round(Double.parseDouble(options.get("restart-at")) * 60)) : null;
        int historyHours = Integer.parseInt(options.getOrDefault("history-h", "24"));
        System.out.printf("hypervisor: create %d ms, resume %d ms, restore %d ms (+%d compressed, +%d delta), %s; "
                        + "sweep every %d s; VM cap %s%n", timings.create().toMillis(), timings.resume().toMillis(),
                timings.restore().toMillis(), timings.compressedExtra().toMillis(), timings.deltaExtra().toMillis(),
                settings.checkpoints() ? "start from a checkpoint " + timings.checkpointStart().toMillis() + " ms"
                        : "no checkpoints", settings.sweep().toSeconds(), manager.getOrDefault("vm.cap", "none"));
        List<TraceReplay.Result> results = new ArrayList<>();
        for (String choice : policies.isEmpty() ? SHIPPED : policies) {
            int colon = choice.indexOf(':');
            String name = colon < 0 ? choice : choice.substring(0, colon);
            String overrides = colon < 0 ? "" : choice.substring(colon + 1);
            KeepAlivePolicy policy = policy(etc, name, overrides);
            TraceReplay.Settings run = settings;
            if (restartAt != null) {
                run = settings.withRestart(new TraceReplay.Restart(restartAt, () -> {
                    try {
                        return policy(etc, name, overrides);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, historyHours));
                System.out.printf("%s restarts at %.1f h, %s%n", name, restartAt.toMinutes() / 60.0, historyHours > 0
                        ? "taught the last " + historyHours + " h of request counts" : "learning from nothing");
            }
            TraceReplay.Result result = TraceReplay.replay(trace, name, overrides, policy, catalog, run);
            if (memory != null) {
                result = result.withResidentGiBHours(memory.gibHours(trace, result.combinations()));
            }
            SimulatedHypervisor.DiskWork disk = result.disk();
            System.out.printf("%s%s: %d cold starts of %d requests, %.0f VM-hours resident%s, %d pre-warms, %d archives "
                            + "written (%.0f GiB), %d checkpoints made (%.0f GiB), %d VMs started from one, "
                            + "replayed in %.1f s%n", name, overrides.isEmpty() ? "" : " (" + overrides + ")",
                    result.coldStarts(), result.requests(), result.residentVmSeconds() / 3600,
                    memory == null ? "" : String.format(" (%.0f GiB-hours by the applications' memory)",
                            result.residentGiBHours()), result.prewarms(),
                    disk.archivesWritten(), disk.archiveBytesWritten() / (double) (1L << 30), disk.checkpointsMade(),
                    disk.checkpointBytesWritten() / (double) (1L << 30), disk.checkpointStarts(),
                    result.replaySeconds());
            results.add(result);
            if (options.containsKey("details")) {
                result.combinations().forEach(c -> System.out.printf("  %-28s %7d requests %5d cold (%.3f) %7.2f VM-h%n",
                        c.name(), c.requests(), c.coldStarts(), (double) c.coldStarts() / Math.max(1, c.requests()),
                        c.residentVmSeconds() / 3600));
                kinds(result.combinations()).forEach((kind, k) -> System.out.printf(java.util.Locale.ROOT,
                        "  kind %-12s %3d combinations %7d requests %5d cold %8.1f VM-h%n", kind, k.count,
                        k.requests, k.cold, k.residentVmSeconds / 3600));
            }
        }
        results.forEach(r -> System.out.println(r.json()));
    }

    /** {@code --warm-up-h H}: from 0 to the trace's last request; 0 without it. */
    static java.time.Duration warmUp(Map<String, String> options, Trace trace) {
        String value = options.getOrDefault("warm-up-h", "0");
        double hours;
        try {
            hours = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            hours = Double.NaN;
        }
        if (!(hours >= 0 && hours * 3_600_000 <= trace.end())) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "--warm-up-h must be a number of "
                    + "hours from 0 to the trace's last request (%.1f h), not '%s'", trace.end() / 3.6e6, value));
        }
        return java.time.Duration.ofMillis(Math.round(hours * 3_600_000));
    }

    /** {@code --functions N}: at least 1; 0 (all) without it. */
    private static int functions(Map<String, String> options) {
        if (!options.containsKey("functions")) {
            return 0;
        }
        String value = options.get("functions");
        try {
            int n = Integer.parseInt(value);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw usage("--functions must be a whole number of at least 1, not '" + value + "'");
    }

    /** One kind's totals: a generated trace names each combination after its kind (popular-03, bursty-11...). */
    static final class Kind {
        int count;
        long requests;
        long cold;
        double residentVmSeconds;
    }

    /** The combinations' figures summed by the part of their name before the first '-', in the order first seen. */
    static Map<String, Kind> kinds(List<TraceReplay.Combination> combinations) {
        Map<String, Kind> kinds = new java.util.LinkedHashMap<>();
        for (TraceReplay.Combination c : combinations) {
            int dash = c.name().indexOf('-');
            Kind k = kinds.computeIfAbsent(dash < 0 ? c.name() : c.name().substring(0, dash), n -> new Kind());
            k.count++;
            k.requests += c.requests();
            k.cold += c.coldStarts();
            k.residentVmSeconds += c.residentVmSeconds();
        }
        return kinds;
    }

    /** A shipped policy, configured by its etc/ file and {@code key=value;...} overrides. */
    static KeepAlivePolicy policy(Path etc, String name, String overrides) throws java.io.IOException {
        String shortName = name.startsWith("keepalive-") ? name.substring("keepalive-".length()) : name;
        Map<String, Object> config = TraceReplay.shippedConfig(etc, "org.servicefarm.keepalive." + shortName + ".cfg");
        for (String setting : overrides.split(";")) {
            if (setting.isBlank()) {
                continue;
            }
            String[] kv = setting.split("=", 2);
            if (kv.length != 2) {
                throw usage("policy override '" + setting + "' must be key=value");
            }
            config.put(kv[0].strip(), kv[1].strip());
        }
        return switch (shortName) {
            case "fixed" -> {
                FixedKeepAlive p = new FixedKeepAlive();
                p.configure(TraceReplay.convert(config, FixedKeepAlive.Config.class));
                yield p;
            }
            case "histogram" -> {
                HistogramKeepAlive p = new HistogramKeepAlive();
                p.configure(TraceReplay.convert(config, HistogramKeepAlive.Config.class));
                yield p;
            }
            case "adaptive" -> {
                AdaptiveKeepAlive p = new AdaptiveKeepAlive();
                p.configure(TraceReplay.convert(config, AdaptiveKeepAlive.Config.class));
                yield p;
            }
            default -> throw usage("no policy '" + name + "' (keepalive-fixed, keepalive-histogram, keepalive-adaptive)");
        };
    }

    /** Distinct viable offerings of the catalog, in the directory's order: what azure2019 functions map onto. */
    static List<Offering> offerings(Map<String, Object> catalog) {
        CatalogDirectory directory = new CatalogDirectory();
        directory.configure(TraceReplay.convert(catalog, CatalogDirectory.Config.class), catalog);
        return directory.offerings(100_000);
    }

    private static Path sibling(Path trace, String extension) {
        String file = trace.getFileName().toString();
        int dot = file.lastIndexOf('.');
        Path json = trace.resolveSibling((dot < 0 ? file : file.substring(0, dot)) + extension);
        if (!Files.exists(json)) {
            throw usage("--combinations FILE.json is required (no " + json + ")");
        }
        return json;
    }

    private static java.time.Duration millis(Map<String, String> options, String key, java.time.Duration otherwise) {
        return options.containsKey(key) ? java.time.Duration.ofMillis(Long.parseLong(options.get(key))) : otherwise;
    }

    private static IllegalArgumentException usage(String problem) {
        System.err.println("replay-trace: " + problem);
        System.err.println("usage: benchmarks/replay-trace --trace FILE [--format farm|azure2019 [--functions N] "
                + "[--memory FILE]] "
                + "[--combinations FILE.json] [--policy NAME[:key=value;...]]...");
        System.exit(2);
        return new IllegalArgumentException(problem);
    }
}
