package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.Names;
import org.servicefarm.api.metrics.Metrics;

/** farm:metrics: {@link Metrics#scrape}, what {@code GET /metrics} serves, whole or some metrics of it. */
@Command(scope = "farm", name = "metrics", description = "Prints the farm's metrics as Prometheus text, as /metrics "
        + "serves them: requests by outcome and activation, latencies, VMs by state, host use, images, keep-alive "
        + "decisions. Name metrics to print only those.")
@Service
public class MetricsCommand implements Action {

    /** A metric family's TYPE line: its name, then its type. */
    private static final Pattern TYPE = Pattern.compile("# TYPE (\\S+) \\S+");
    /** What a sample line's name may add to its family's name. */
    private static final List<String> SUFFIXES = List.of("", "_total", "_bucket", "_count", "_sum", "_created");

    /** Absent without the metrics bundle (feature servicefarm-metrics): the command says so. */
    @Reference(optional = true)
    Metrics metrics;

    @Argument(index = 0, name = "METRIC", description = "A metric to print, e.g. servicefarm_keepalive_decisions_total; "
            + "repeat for several (default: all)", multiValued = true)
    @Completion(FarmCompleter.class)
    List<String> names;

    PrintStream out = System.out;

    @Override
    public Object execute() throws CommandException {
        Metrics source = metrics;
        if (source == null) {
            throw Failures.failure("No metrics: the metrics bundle is not installed (feature servicefarm-metrics)");
        }
        String text = source.scrape();
        if (names == null || names.isEmpty()) {
            out.print(text);
            return null;
        }
        List<String> families = families(text);
        for (String name : names) {
            if (!families.contains(name)) {
                throw Failures.failure("Invalid argument METRIC: no metric named " + Names.excerpt(name)
                        + " (TAB completes the names)");
            }
        }
        out.print(only(text, new LinkedHashSet<>(names)));
        return null;
    }

    /** The names of the metric families in {@code text}, in its order. */
    static List<String> families(String text) {
        List<String> names = new ArrayList<>();
        for (String line : text.split("\n")) {
            Matcher type = TYPE.matcher(line);
            if (type.matches()) {
                names.add(type.group(1));
            }
        }
        return names;
    }

    /** The lines of {@code text} that belong to one of {@code families}: their HELP, TYPE and samples. */
    static String only(String text, Set<String> families) {
        StringBuilder kept = new StringBuilder();
        for (String line : text.split("\n")) {
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                String[] words = line.split(" ", 4);
                if (words.length > 2 && families.contains(words[2])) {
                    kept.append(line).append('\n');
                }
            } else if (!line.startsWith("#") && !line.isEmpty()) {
                String sample = line.split("[{ ]", 2)[0];
                if (SUFFIXES.stream().anyMatch(suffix -> sample.endsWith(suffix)
                        && families.contains(sample.substring(0, sample.length() - suffix.length())))) {
                    kept.append(line).append('\n');
                }
            }
        }
        return kept.toString();
    }
}
