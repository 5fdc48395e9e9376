package org.servicefarm.core.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each application's memory, from the Azure Functions 2019 dataset's memory file
 * ({@code app_memory_percentiles.anon.d01.csv}: {@code HashOwner,HashApp,SampleCount,AverageAllocatedMb,...}, or a
 * sample's with those columns in another order), to weigh resident time by it as the paper weighs wasted memory: the
 * replay's VMs are all of one size, the dataset's applications are not. An application in several rows (files of
 * several days put together) counts at its largest.
 */
final class ApplicationMemory {

    private final Path csv;
    private final Map<String, Double> mib;

    private ApplicationMemory(Path csv, Map<String, Double> mib) {
        this.csv = csv;
        this.mib = mib;
    }

    static ApplicationMemory read(Path csv) throws IOException {
        Map<String, Double> mib = new HashMap<>();
        try (BufferedReader in = Files.newBufferedReader(csv)) {
            String header = in.readLine();
            List<String> names = header == null ? List.of()
                    : Arrays.stream(header.split(",", -1)).map(String::strip).toList();
            int application = names.indexOf("HashApp");
            int average = names.indexOf("AverageAllocatedMb");
            if (application < 0 || average < 0) {
                throw new IllegalArgumentException(csv + ":1: the header names no HashApp or no AverageAllocatedMb "
                        + "column (the dataset's app_memory_percentiles file)");
            }
            String line;
            int number = 1;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String[] fields = line.split(",", -1);
                if (fields.length <= Math.max(application, average)) {
                    throw new IllegalArgumentException(csv + ":" + number + ": fewer columns than the header's");
                }
                double allocated;
                try {
                    allocated = Double.parseDouble(fields[average].strip());
                } catch (NumberFormatException e) {
                    allocated = Double.NaN;
                }
                if (!(allocated >= 0)) {
                    throw new IllegalArgumentException(csv + ":" + number + ": AverageAllocatedMb is '"
                            + fields[average].strip() + "', not a size in MB");
                }
                mib.merge(fields[application].strip(), allocated, Math::max);
            }
        }
        return new ApplicationMemory(csv, mib);
    }

    /** Fails, naming one, unless every application of the trace has a memory here. */
    void covers(Trace trace) {
        List<String> missing = trace.applications.stream().distinct().filter(a -> !mib.containsKey(a)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(csv + " has no memory for " + missing.size() + " of the trace's "
                    + "applications (" + missing.get(0) + " among them)");
        }
    }

    /** Resident time weighed by memory: each combination's resident hours times its application's GiB. */
    double gibHours(Trace trace, List<TraceReplay.Combination> combinations) {
        double sum = 0;
        for (int c = 0; c < combinations.size(); c++) {
            sum += combinations.get(c).residentVmSeconds() / 3600 * mib.get(trace.applications.get(c)) / 1024;
        }
        return sum;
    }
}
