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

    /** The options replay-trace takes; {@code --policy} may repeat. */
    private static final java.util.Set<String> OPTIONS = java.util.Set.of("trace", "format", "combinations", "policy",
            "functions", "memory", "seed", "create-ms", "resume-ms", "restore-ms", "checkpoint-ms", "checkpoints",
            "sweep-s", "vm-cap", "details", "restart-at", "history-h", "warm-up-h");

    private ReplayTrace() {
    }

    public static void main(String[] args) throws Exception {
        try {
            replay(CommandLine.parse(args, OPTIONS, java.util.Set.of("policy")));
        } catch (IllegalArgumentException e) { // a trace or an option it cannot take: said plainly, no stack trace
            System.err.println("replay-trace: " + e.getMessage());
            if (e instanceof CommandLine.Invalid) {
                System.err.println("usage: benchmarks/replay-trace --trace FILE [--format farm|azure2019 "
                        + "[--functions N] [--memory FILE]] [--combinations FILE.json] "
                        + "[--policy NAME[:key=value;...]]... (more options: the script's header)");
            }
            System.exit(2);
        }
    }

    private static void replay(CommandLine options) throws Exception {
        if (!options.has("trace")) {
            throw usage("--trace FILE is required");
        }
        Path etc = Path.of(System.getProperty("servicefarm.etc", "etc"));
        Map<String, Object> catalog = TraceReplay.shippedConfig(etc, "org.servicefarm.catalog.cfg");
        String format = options.choice("format", "farm", "farm", "azure2019");
        Path tracePath = Path.of(options.text("trace", null));
        for (String azureOnly : List.of("functions", "memory", "seed")) {
            if (options.has(azureOnly) && !format.equals("azure2019")) {
                throw usage("--" + azureOnly + " is for the azure2019 format");
            }
        }
        if (options.has("combinations") && !format.equals("farm")) {
            throw usage("--combinations is for the farm format");
        }
        // every option the trace does not bound is checked before it is read: a big one takes seconds
        SimulatedHypervisor.Timings m = SimulatedHypervisor.Timings.MEASURED;
        SimulatedHypervisor.Timings timings = new SimulatedHypervisor.Timings(
                millis(options, "create-ms", m.create()), millis(options, "resume-ms", m.resume()),
                millis(options, "restore-ms", m.restore()), m.compressedExtra(), m.deltaExtra(),
                millis(options, "checkpoint-ms", m.checkpointStart()));
        Map<String, Object> manager = new HashMap<>();
        if (options.has("vm-cap")) {
            manager.put("vm.cap", (int) options.whole("vm-cap", 0, 1, Integer.MAX_VALUE));
        }
        // off by default: the hypervisor's times are libvirt's (a restore is virsh restore), whose hosts make none
        boolean checkpoints = options.choice("checkpoints", "off", "on", "off").equals("on");
        java.time.Duration sweep = java.time.Duration.ofSeconds(options.whole("sweep-s", 15, 1, 86_400));
        if (options.has("history-h") && !options.has("restart-at")) {
            throw usage("--history-h is for a replay with --restart-at");
        }
        int historyHours = (int) options.whole("history-h", 24, 0, 24 * 366);
        boolean details = options.choice("details", "false", "true", "false").equals("true");
        List<String> policies = options.all("policy").isEmpty() ? SHIPPED : options.all("policy");
        for (String text : policies) {
            Choice choice = Choice.of(text);
            policy(etc, choice.name(), choice.overrides()); // refused now, not after the replays before it
        }
        long loading = System.nanoTime();
        Trace trace = switch (format) {
            case "farm" -> {
                Path json = options.has("combinations") ? Path.of(options.text("combinations", null))
                        : sibling(tracePath, ".json");
                yield Trace.farm(tracePath, json);
            }
            default -> Trace.azure2019(tracePath, offerings(catalog),
                    options.whole("seed", 2019, Long.MIN_VALUE, Long.MAX_VALUE),
                    (int) options.whole("functions", 0, 1, Integer.MAX_VALUE));
        };
        ApplicationMemory memory = null;
        if (options.has("memory")) {
            memory = ApplicationMemory.read(Path.of(options.text("memory", null)));
            memory.covers(trace);
        }
        System.out.printf("trace %s (%s): %d requests, %d combinations, %.1f h; read in %.1f s%n", tracePath, format,
                trace.size(), trace.names.size(), trace.end() / 3.6e6, (System.nanoTime() - loading) / 1e9);
        TraceReplay.Settings settings = new TraceReplay.Settings(timings, sweep, manager, 4, checkpoints)
                .withWarmUp(hoursIntoTrace(options, "warm-up-h", trace));
        java.time.Duration restartAt = options.has("restart-at") ? hoursIntoTrace(options, "restart-at", trace) : null;
        System.out.printf("hypervisor: create %d ms, resume %d ms, restore %d ms (+%d compressed, +%d delta), %s; "
                        + "sweep every %d s; VM cap %s%n", timings.create().toMillis(), timings.resume().toMillis(),
                timings.restore().toMillis(), timings.compressedExtra().toMillis(), timings.deltaExtra().toMillis(),
                settings.checkpoints() ? "start from a checkpoint " + timings.checkpointStart().toMillis() + " ms"
                        : "no checkpoints", settings.sweep().toSeconds(), manager.getOrDefault("vm.cap", "none"));
        List<TraceReplay.Result> results = new ArrayList<>();
        for (String text : policies) {
            Choice choice = Choice.of(text);
            String name = choice.name();
            String overrides = choice.overrides();
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
            if (details) {
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

    /** {@code --warm-up-h H} or {@code --restart-at H}: from 0 to the trace's last request; 0 without it. */
    static java.time.Duration hoursIntoTrace(CommandLine options, String name, Trace trace) {
        double hours;
        try {
            hours = options.number(name, 0, 0, trace.end() / 3.6e6);
        } catch (CommandLine.Invalid e) { // the bound alone says less than what it is
            throw new CommandLine.Invalid(String.format(java.util.Locale.ROOT, "--%s must be a number of hours from 0 "
                    + "to the trace's last request (%.1f h), not '%s'", name, trace.end() / 3.6e6,
                    options.text(name, null)));
        }
        return java.time.Duration.ofMillis(Math.round(hours * 3_600_000));
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

    /** {@code --policy NAME[:key=value;...]}, split. */
    record Choice(String name, String overrides) {
        static Choice of(String text) {
            int colon = text.indexOf(':');
            return colon < 0 ? new Choice(text, "") : new Choice(text.substring(0, colon), text.substring(colon + 1));
        }
    }

    /** A shipped policy, configured by its etc/ file and {@code key=value;...} overrides of its configuration's keys. */
    static KeepAlivePolicy policy(Path etc, String name, String overrides) throws java.io.IOException {
        String shortName = name.startsWith("keepalive-") ? name.substring("keepalive-".length()) : name;
        Class<?> type = switch (shortName) {
            case "fixed" -> FixedKeepAlive.Config.class;
            case "histogram" -> HistogramKeepAlive.Config.class;
            case "adaptive" -> AdaptiveKeepAlive.Config.class;
            default -> throw usage("no policy '" + name + "' (keepalive-fixed, keepalive-histogram, keepalive-adaptive)");
        };
        // the converter's names: sleep_after_s() is sleep.after.s
        java.util.Set<String> keys = new java.util.TreeSet<>();
        for (java.lang.reflect.Method m : type.getDeclaredMethods()) {
            keys.add(m.getName().replace('_', '.'));
        }
        Map<String, Object> config = TraceReplay.shippedConfig(etc, "org.servicefarm.keepalive." + shortName + ".cfg");
        for (String setting : overrides.split(";")) {
            if (setting.isBlank()) {
                continue;
            }
            String[] kv = setting.split("=", 2);
            if (kv.length != 2) {
                throw usage("policy override '" + setting + "' must be key=value");
            }
            if (!keys.contains(kv[0].strip())) { // a misspelt key would replay the shipped value unseen
                throw usage(name + " has no setting '" + kv[0].strip() + "'; its settings: " + String.join(", ", keys));
            }
            config.put(kv[0].strip(), kv[1].strip());
        }
        try {
            return switch (shortName) {
                case "fixed" -> {
                    FixedKeepAlive p = new FixedKeepAlive();
                    p.configure(TraceReplay.convert(config, FixedKeepAlive.Config.class), null);
                    yield p;
                }
                case "histogram" -> {
                    HistogramKeepAlive p = new HistogramKeepAlive();
                    p.configure(TraceReplay.convert(config, HistogramKeepAlive.Config.class), null);
                    yield p;
                }
                default -> {
                    AdaptiveKeepAlive p = new AdaptiveKeepAlive();
                    p.configure(TraceReplay.convert(config, AdaptiveKeepAlive.Config.class), null);
                    yield p;
                }
            };
        } catch (org.osgi.util.converter.ConversionException e) { // a value of the wrong type, read when configured
            throw usage(name + ": a setting is not of its type (" + e.getMessage() + ")");
        }
    }

    /** Distinct viable offerings of the catalog, in the directory's order: what azure2019 functions map onto. */
    static List<Offering> offerings(Map<String, Object> catalog) {
        CatalogDirectory directory = new CatalogDirectory();
        directory.configure(TraceReplay.convert(catalog, CatalogDirectory.Config.class), catalog, null);
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

    private static java.time.Duration millis(CommandLine options, String key, java.time.Duration otherwise) {
        return java.time.Duration.ofMillis(options.whole(key, otherwise.toMillis(), 0, 86_400_000));
    }

    private static IllegalArgumentException usage(String problem) {
        return new CommandLine.Invalid(problem);
    }
}
