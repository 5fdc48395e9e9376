package org.servicefarm.core.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.ServiceRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A request trace: when each request came (milliseconds from the trace's start) and for which combination, sorted
 * by time, and the request each combination stands for.
 */
final class Trace {

    /** The combinations' names, by index. */
    final List<String> names;
    /** What each combination asks for, by index. */
    final List<ServiceRequest> requests;
    /** The application each combination is of, by index (azure2019: its HashApp; otherwise its own name). */
    final List<String> applications;
    final long[] times;
    final int[] combinations;

    Trace(List<String> names, List<ServiceRequest> requests, long[] times, int[] combinations) {
        this(names, requests, names, times, combinations);
    }

    Trace(List<String> names, List<ServiceRequest> requests, List<String> applications, long[] times,
          int[] combinations) {
        this.names = List.copyOf(names);
        this.requests = List.copyOf(requests);
        this.applications = List.copyOf(applications);
        this.times = times;
        this.combinations = combinations;
    }

    int size() {
        return times.length;
    }

    /** The trace's last request time, or 0. */
    long end() {
        return times.length == 0 ? 0 : times[times.length - 1];
    }

    /**
     * The {@code farm} format: lines {@code t_ms,combination} sorted by time (a first line that is not a number is a
     * header), and a JSON object mapping each combination's name to a request body as the REST API takes it.
     */
    static Trace farm(Path csv, Path combinationsJson) throws IOException {
        Map<String, ServiceRequest> known = combinations(combinationsJson);
        Map<String, Integer> index = new HashMap<>();
        List<String> names = new ArrayList<>();
        List<ServiceRequest> requests = new ArrayList<>();
        long[] times = new long[1024];
        int[] combos = new int[1024];
        int n = 0;
        long previous = Long.MIN_VALUE;
        try (BufferedReader in = Files.newBufferedReader(csv)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank() || (number == 1 && !Character.isDigit(line.strip().charAt(0)))) {
                    continue;
                }
                int comma = line.indexOf(',');
                if (comma < 0) {
                    throw new IllegalArgumentException(csv + ":" + number + ": expected t_ms,combination");
                }
                long t = Long.parseLong(line.substring(0, comma).strip());
                String name = line.substring(comma + 1).strip();
                if (t < previous) {
                    throw new IllegalArgumentException(csv + ":" + number + ": not sorted by time");
                }
                previous = t;
                Integer i = index.get(name);
                if (i == null) {
                    ServiceRequest request = known.get(name);
                    if (request == null) {
                        throw new IllegalArgumentException(csv + ":" + number + ": combination '" + name
                                + "' is not in " + combinationsJson);
                    }
                    i = names.size();
                    index.put(name, i);
                    names.add(name);
                    requests.add(request);
                }
                if (n == times.length) {
                    times = Arrays.copyOf(times, n * 2);
                    combos = Arrays.copyOf(combos, n * 2);
                }
                times[n] = t;
                combos[n++] = i;
            }
        }
        return new Trace(names, requests, Arrays.copyOf(times, n), Arrays.copyOf(combos, n));
    }

    /** Request bodies by combination name, as the REST API takes them. */
    static Map<String, ServiceRequest> combinations(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(json + ": expected an object mapping combination names to request bodies");
        }
        Map<String, ServiceRequest> result = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            result.put(entry.getKey(), request(entry.getValue()));
        }
        return result;
    }

    static ServiceRequest request(JsonNode body) {
        JsonNode env = body.path("environment");
        List<String> patches = new ArrayList<>();
        env.path("patches").forEach(p -> patches.add(p.asText()));
        return new ServiceRequest(text(body, "service"), text(body, "version"), new Environment(text(env, "os"),
                text(env, "server"), text(env, "runtime"), patches), text(body, "securityLevel"), text(body, "tier"),
                null);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    /** The request body of an offering, as {@link #combinations} reads it. */
    static Map<String, Object> body(Offering offering) {
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("os", offering.environment().os());
        env.put("server", offering.environment().server());
        env.put("runtime", offering.environment().runtime());
        env.put("patches", offering.environment().patches());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("service", offering.service());
        body.put("version", offering.version());
        body.put("environment", env);
        body.put("securityLevel", offering.securityLevel());
        return body;
    }

    /**
     * The {@code azure2019} format: the Azure Functions 2019 dataset's invocation counts per minute
     * ({@code HashOwner,HashApp,HashFunction,Trigger,1,...,1440}); each function is a combination of its own, mapped in
     * order onto {@code offerings} (distinct viable offerings of the catalog), and a minute's invocations are spread
     * uniformly over it with a fixed seed. A header names the columns, so samples of the dataset that reorder them or
     * call the minutes {@code minute_1,...} (In-Vitro's: {@code HashFunction,HashApp,HashOwner,minute_1,...}) read
     * the same; without one, the dataset's order.
     */
    static Trace azure2019(Path csv, List<Offering> offerings, long seed) throws IOException {
        return azure2019(csv, offerings, seed, 0);
    }

    /**
     * As {@link #azure2019(Path, List, long)}, of {@code functions} functions drawn uniformly at random (seeded; in
     * the file's order) when it is above 0: a day of the whole dataset has some 46,000 functions, more than the
     * catalog has offerings.
     */
    static Trace azure2019(Path csv, List<Offering> offerings, long seed, int functions) throws IOException {
        FunctionRows rows = FunctionRows.read(csv, functions, seed, offerings.size());
        long replayed = functions > 0 ? rows.kept.size() : rows.functions;
        if (replayed > offerings.size()) {
            throw new IllegalArgumentException(csv + ": " + replayed + " functions, more than the catalog's "
                    + offerings.size() + " viable offerings: replay a sample of at most " + offerings.size()
                    + " of them (--functions N)");
        }
        Random random = new Random(seed);
        List<String> names = new ArrayList<>();
        List<String> applications = new ArrayList<>();
        List<ServiceRequest> requests = new ArrayList<>();
        long[] times = new long[1024];
        int[] combos = new int[1024];
        int n = 0;
        for (FunctionRows.Row row : rows.kept) {
            String[] fields = row.line().split(",", -1);
            if (fields.length <= Math.max(rows.function, rows.firstMinute)) {
                throw new IllegalArgumentException(csv + ":" + row.number() + ": expected HashOwner,HashApp,"
                        + "HashFunction,Trigger,1,...,1440");
            }
            int combination = names.size();
            names.add(fields[rows.function].strip());
            applications.add(rows.application < 0 || rows.application >= fields.length ? names.get(combination)
                    : fields[rows.application].strip());
            requests.add(offerings.get(combination).toRequest());
            for (int minute = 0; minute + rows.firstMinute < fields.length; minute++) {
                String field = fields[minute + rows.firstMinute].strip();
                int count = field.isEmpty() ? 0 : count(field, csv, row.number(), minute);
                for (int k = 0; k < count; k++) {
                    if (n == times.length) {
                        times = Arrays.copyOf(times, n * 2);
                        combos = Arrays.copyOf(combos, n * 2);
                    }
                    times[n] = minute * 60_000L + random.nextInt(60_000);
                    combos[n++] = combination;
                }
            }
        }
        return sorted(names, requests, applications, Arrays.copyOf(times, n), Arrays.copyOf(combos, n));
    }

    /** A minute's invocations; anything but a count is an error that says where. */
    private static int count(String field, Path csv, int line, int minute) {
        try {
            int count = Integer.parseInt(field);
            if (count >= 0) {
                return count;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(csv + ":" + line + ": minute " + (minute + 1) + " has '" + field
                + "', not a count of invocations");
    }

    /**
     * The function rows of an azure2019 file (all, or a uniform sample: reservoir sampling, one pass, only the rows
     * kept split) with their line numbers, and the columns its header names.
     */
    private static final class FunctionRows {
        /** A function's row as read, and its line number. */
        record Row(String line, int number) {
        }

        final List<Row> kept = new ArrayList<>();
        int function = 2; // the dataset's columns until a header says otherwise
        int application = 1;
        int firstMinute = 4;
        /** How many function rows the file has (past a limit without a sample, they are only counted). */
        long functions;

        static FunctionRows read(Path csv, int sample, long seed, int limit) throws IOException {
            FunctionRows rows = new FunctionRows();
            Random pick = new Random(seed * 31 + 7); // not the spreading's sequence: a sample spreads as a whole file
            try (BufferedReader in = Files.newBufferedReader(csv)) {
                String line;
                int number = 0;
                while ((line = in.readLine()) != null) {
                    number++;
                    if (line.isBlank()) {
                        continue;
                    }
                    if (line.strip().startsWith("Hash")) {
                        rows.header(csv, number, line);
                        continue;
                    }
                    rows.functions++;
                    if (sample <= 0 ? rows.kept.size() <= limit : rows.kept.size() < sample) {
                        rows.kept.add(new Row(line, number));
                    } else if (sample > 0) {
                        long slot = pick.nextLong(rows.functions); // Algorithm R: this row's index, 0-based, + 1
                        if (slot < sample) { // the row replaces a kept one: keep the file's order among those kept
                            rows.kept.remove((int) slot);
                            rows.kept.add(new Row(line, number));
                        }
                    }
                }
            }
            return rows;
        }

        private void header(Path csv, int number, String line) {
            List<String> names = Arrays.stream(line.split(",", -1)).map(String::strip).toList();
            function = names.indexOf("HashFunction");
            application = names.indexOf("HashApp");
            firstMinute = names.contains("1") ? names.indexOf("1") : names.indexOf("minute_1");
            if (function < 0 || firstMinute < 0) {
                throw new IllegalArgumentException(csv + ":" + number + ": the header names no HashFunction column "
                        + "or no first minute (1 or minute_1)");
            }
        }
    }

    /**
     * A trace of requests in any order, sorted by time (ties by combination, so the order is reproducible), each
     * combination of the given application.
     */
    static Trace sorted(List<String> names, List<ServiceRequest> requests, List<String> applications, long[] times,
                        int[] combos) {
        long[] keys = new long[times.length];
        for (int i = 0; i < times.length; i++) {
            keys[i] = times[i] << 20 | combos[i]; // time in ms (days fit in 43 bits), combination below 2^20
        }
        Arrays.sort(keys);
        long[] t = new long[keys.length];
        int[] c = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            t[i] = keys[i] >>> 20;
            c[i] = (int) (keys[i] & 0xfffff);
        }
        return new Trace(names, requests, applications, t, c);
    }
}
