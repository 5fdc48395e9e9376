package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** What Linux's /proc says about a process: its identity (pid + start time), argv and memory. */
public final class ProcInfo {

    private static final Path PROC = Path.of("/proc");

    private ProcInfo() {
    }

    /**
     * The process's start time in clock ticks since boot (field 22 of {@code /proc/PID/stat}): with the
     * pid, an identity that a recycled pid does not repeat. Empty when there is no such process.
     */
    public static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
            // comm (field 2) is in parentheses and may contain spaces or ')': fields resume after the last ')'.
            String rest = stat.substring(stat.lastIndexOf(')') + 2);
            String[] fields = rest.split(" ");
            // rest starts at field 3 (state): field 22 is at index 22 - 3.
            return OptionalLong.of(Long.parseLong(fields[22 - 3]));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** The process's state letter (R, S, D, Z, ...), or {@code '?'} when it is gone. */
    public static char state(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException | RuntimeException e) {
            return '?';
        }
    }

    /** The process's argv, or an empty list when it is gone (or a zombie). */
    public static List<String> cmdline(long pid) {
        try {
            byte[] raw = Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("cmdline"));
            List<String> argv = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < raw.length; i++) {
                if (raw[i] == 0) {
                    argv.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            if (start < raw.length) {
                argv.add(new String(raw, start, raw.length - start, StandardCharsets.UTF_8));
            }
            return argv;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** True when {@code pid} runs, was started at {@code startTicks}, and is not a zombie. */
    public static boolean alive(long pid, long startTicks) {
        OptionalLong ticks = startTicks(pid);
        return ticks.isPresent() && ticks.getAsLong() == startTicks && state(pid) != 'Z' && state(pid) != 'X';
    }

    /** Resident and proportional set size of a process, in KiB. */
    public record Memory(long rssKiB, long pssKiB) {
        public double rssMiB() {
            return rssKiB / 1024.0;
        }

        public double pssMiB() {
            return pssKiB / 1024.0;
        }
    }

    /** RSS and PSS from {@code /proc/PID/smaps_rollup}. */
    public static Memory memory(long pid) throws IOException {
        long rss = -1;
        long pss = -1;
        for (String line : Files.readAllLines(PROC.resolve(Long.toString(pid)).resolve("smaps_rollup"))) {
            if (line.startsWith("Rss:")) {
                rss = kib(line);
            } else if (line.startsWith("Pss:")) {
                pss = kib(line);
            }
        }
        if (rss < 0 || pss < 0) {
            throw new IOException("no Rss/Pss in /proc/" + pid + "/smaps_rollup");
        }
        return new Memory(rss, pss);
    }

    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]);
    }
}
