package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.servicefarm.api.ServiceRequest;

/** The replay's accounting on small traces whose cold starts and resident time are worked out by hand. */
class TraceReplayTest {

    private static final Path ETC = Path.of("..", "..", "etc");
    private static final SimulatedHypervisor.Timings TIMES = new SimulatedHypervisor.Timings(Duration.ofMillis(5000),
            Duration.ofMillis(50), Duration.ofMillis(430), Duration.ofMillis(80), Duration.ofMillis(200),
            Duration.ofMillis(232));

    private static TraceReplay.Result replay(Trace trace, String policy) throws Exception {
        return replay(trace, policy, false);
    }

    private static TraceReplay.Result replay(Trace trace, String policy, boolean checkpoints) throws Exception {
        return replay(trace, policy, checkpoints, null, 0);
    }

    /** With a restart of the policy {@code restartAt} into the trace (none if null), taught that many hours. */
    private static TraceReplay.Result replay(Trace trace, String policy, boolean checkpoints, Duration restartAt,
                                             int historyHours) throws Exception {
        String name = name(policy);
        String overrides = overrides(policy);
        TraceReplay.Settings settings = new TraceReplay.Settings(TIMES, Duration.ofSeconds(15), Map.of(), 1,
                checkpoints);
        if (restartAt != null) {
            settings = settings.withRestart(new TraceReplay.Restart(restartAt, () -> {
                try {
                    return ReplayTrace.policy(ETC, name, overrides);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, historyHours));
        }
        return replay(trace, policy, settings);
    }

    /** {@code policy} ({@code name[:overrides]}) replayed with {@code settings}. */
    private static TraceReplay.Result replay(Trace trace, String policy, TraceReplay.Settings settings)
            throws Exception {
        return TraceReplay.replay(trace, name(policy), overrides(policy),
                ReplayTrace.policy(ETC, name(policy), overrides(policy)),
                TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg"), settings);
    }

    private static String name(String policy) {
        return ReplayTrace.Choice.of(policy).name();
    }

    private static String overrides(String policy) {
        return ReplayTrace.Choice.of(policy).overrides();
    }

    private static Trace wiki(long... seconds) {
        long[] times = new long[seconds.length];
        for (int i = 0; i < seconds.length; i++) {
            times[i] = seconds[i] * 1000;
        }
        return new Trace(List.of("wiki"), List.of(ServiceRequest.of("wiki")), times, new int[seconds.length]);
    }

    @Test
    void fixedTimersColdStartsAndResidentTimeAsWorkedOutByHand() throws Exception {
        // t=0 cold (created, ACTIVE at 5 s); t=60 warm (granted: last used at 60 s); the sweep at 660 s finds it idle
        // 600 s and puts it to sleep, the one at 675 s archives it (asleep 15 s >= 1 s): in memory 5 s..675 s = 670 s.
        // t=1200 cold (restored from SAVED: ACTIVE at 1200.43 s); t=1500 warm; the trace ends at 1500 s: 299.57 s more.
        TraceReplay.Result r = replay(wiki(0, 60, 1200, 1500), ReplayTrace.FIXED_10_MIN);
        assertEquals(4, r.requests());
        assertEquals(2, r.coldStarts());
        assertEquals(0.5, r.coldStartRate(), 1e-9);
        assertEquals(0.5, r.coldStartRateP75(), 1e-9, "one combination: its own rate");
        assertEquals(0.25, r.coldStartRateP75Floor(), 1e-9, "its first request of four is cold whatever the policy");
        assertEquals(670 + 299.57, r.residentVmSeconds(), 1e-6);
        assertEquals(0, r.prewarms());
        assertEquals(1, r.vmsCreated());
        assertEquals(5.0 + 0.43, r.coldWaitSeconds(), 1e-6, "a creation and a restore waited for");
    }

    @Test
    void afterAWarmUpOnlyWhatComesLaterIsCounted() throws Exception {
        // as worked out above, counted from 600 s: the requests at 1200 s (cold) and 1500 s (warm); in memory 600 s to
        // 675 s of the first VM's 5 s..675 s and 1200.43 s..1500 s; the archive at 675 s written after 600 s; the VM
        // created before it
        TraceReplay.Result r = replay(wiki(0, 60, 1200, 1500), ReplayTrace.FIXED_10_MIN,
                new TraceReplay.Settings(TIMES, Duration.ofSeconds(15), Map.of(), 1)
                        .withWarmUp(Duration.ofSeconds(600)));
        assertEquals(2, r.requests());
        assertEquals(1, r.coldStarts());
        assertEquals(0, r.coldStartRateP75Floor(), 1e-9, "a first counted request may be warm");
        assertEquals(75 + 299.57, r.residentVmSeconds(), 1e-6);
        assertEquals(0, r.vmsCreated());
        assertEquals(1, r.disk().archivesWritten());
        assertEquals(0.43, r.coldWaitSeconds(), 1e-6);

        Trace trace = wiki(0, 60, 1200, 1500);
        assertEquals(Duration.ofMinutes(6), hours("warm-up-h", "0.1", trace));
        assertEquals(Duration.ZERO, ReplayTrace.hoursIntoTrace(new CommandLine(Map.of()), "warm-up-h", trace));
        for (String bad : List.of("1", "-0.1", "two", "NaN")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> hours("restart-at", bad, trace));
            assertEquals("--restart-at must be a number of hours from 0 to the trace's last request (0.4 h), not '"
                    + bad + "'", e.getMessage());
        }
    }

    private static Duration hours(String option, String value, Trace trace) {
        return ReplayTrace.hoursIntoTrace(new CommandLine(Map.of(option, value)), option, trace);
    }

    @Test
    void aRequestJoiningACreationIsColdAndOneForASleepingVmIsWarm() throws Exception {
        // t=0 creates (ACTIVE at 5 s), t=2 joins it: both cold. Sleep after 60 s idle (sweep at 65 s: idle 61 s),
        // archive after 600 s asleep (sweep at 675 s); t=300 resumes the SLEEPING VM: warm (ACTIVE at 300.05 s).
        // In memory 5..300 (ACTIVE then SLEEPING) and 300.05..400 (the trace's end): 295 + 99.95 s.
        TraceReplay.Result r = replay(wiki(0, 2, 300, 400),
                "keepalive-fixed:sleep.after.s=60;archive.after.s=600;inDemand.requestsPerMinute=0");
        assertEquals(2, r.coldStarts());
        assertEquals(295 + 99.95, r.residentVmSeconds(), 1e-6);
        assertEquals(5.0 + 3.0, r.coldWaitSeconds(), 1e-6);
    }

    @Test
    void aPeriodicCombinationIsPreWarmedByTheAdaptivePolicyOnceItSawTwoIdleTimes() throws Exception {
        // every 30 min: the first request creates, and the VM stays (fallback keep-alive 4 h, until two idle times)
        // for the second and the third: warm; from then on it is archived after each request and restored 30 s
        // before its warm bins (1,785-1,830 s of idle time, 15 s each): warm, one pre-warm each for the fourth to the
        // sixth.
        TraceReplay.Result r = replay(wiki(0, 1800, 3600, 5400, 7200, 9000), "keepalive-adaptive");
        assertEquals(1, r.coldStarts());
        assertEquals(3, r.prewarms());
        // with a 5-minute fallback the second and third requests found it archived: restores, cold
        TraceReplay.Result shortFallback = replay(wiki(0, 1800, 3600, 5400, 7200, 9000),
                "keepalive-adaptive:fallback.keepAlive.s=300");
        assertEquals(3, shortFallback.coldStarts());
        assertEquals(3, shortFallback.prewarms());
        // from one idle time on (samples.min 1), the third is already pre-warmed
        TraceReplay.Result oneIdleTime = replay(wiki(0, 1800, 3600, 5400, 7200, 9000),
                "keepalive-adaptive:fallback.keepAlive.s=300;samples.min=1");
        assertEquals(2, oneIdleTime.coldStarts());
        assertEquals(4, oneIdleTime.prewarms());
    }

    @Test
    void aPolicyRestartedMidTraceIsTaughtTheRequestCountsAndPreWarmsOnAsIfNothingHappened() throws Exception {
        // a timer every 30 min, 9 requests; the policy restarts at 2 h 5 min, after the fifth (its VM is archived
        // then, to be restored before the sixth). Taught the store's counts (each request at its minute's middle:
        // the same 30-min idle times), the new instance pre-warms the sixth as the old one would have: 1 cold start,
        // the first. Taught nothing, it does not expect the sixth (cold: restored when asked), then keeps the VM its
        // 4-hour fallback until it has two idle times again.
        Trace timer = wiki(0, 1800, 3600, 5400, 7200, 9000, 10_800, 12_600, 14_400);
        Duration restart = Duration.ofMinutes(125);
        TraceReplay.Result none = replay(timer, "keepalive-adaptive", false);
        TraceReplay.Result taught = replay(timer, "keepalive-adaptive", false, restart, 24);
        TraceReplay.Result untaught = replay(timer, "keepalive-adaptive", false, restart, 0);
        assertEquals(1, none.coldStarts());
        assertEquals(6, none.prewarms());
        assertEquals(1, taught.coldStarts());
        assertEquals(6, taught.prewarms());
        assertEquals(2, untaught.coldStarts());
        assertEquals(3, untaught.prewarms(), "the fourth's and the fifth's before the restart; after it only once "
                + "it has two idle times again: the ninth's");
        assertTrue(untaught.residentVmSeconds() > taught.residentVmSeconds() + 3000,
                "in memory from the sixth request to the eighth: " + untaught.residentVmSeconds() + " against "
                        + taught.residentVmSeconds());
    }

    @Test
    void onHostsThatMakeCheckpointsTheAdaptivePolicyLetsATimersVmRestAsItsCheckpoint() throws Exception {
        // as above, but the hosts make checkpoints: once the plan brings the VM back before each request (after the
        // second idle time), the policy asks for a checkpoint of its image (made on both hosts, one per zone, at the
        // next sweep); the VM is destroyed where it would have been archived, and each pre-warm creates a VM from the
        // checkpoint (0.232 s) instead of restoring an archive. The same cold starts, pre-warms and resident time
        // but for the start's 0.2 s less each; one archive written: the first rest, decided in the sweep that asked
        // for the checkpoint, and destroyed at the next once the checkpoint is there.
        Trace timer = wiki(0, 1800, 3600, 5400, 7200, 9000);
        TraceReplay.Result archived = replay(timer, "keepalive-adaptive", true);
        TraceReplay.Result asCheckpoint = replay(timer, "keepalive-adaptive:rest.checkpoint=true", true);
        assertEquals(1, asCheckpoint.coldStarts());
        assertEquals(3, asCheckpoint.prewarms());
        assertEquals(1, asCheckpoint.disk().archivesWritten());
        assertEquals(2, asCheckpoint.disk().checkpointsMade());
        assertEquals(3, asCheckpoint.disk().checkpointStarts());
        assertEquals(4, asCheckpoint.vmsCreated(), "the first and one per pre-warm");

        TraceReplay.Result kept = replay(timer, "keepalive-adaptive:rest.checkpoint=false", true);
        assertEquals(1, kept.coldStarts());
        assertEquals(3, kept.prewarms());
        assertEquals(4, kept.disk().archivesWritten(), "one SAVED archive after each request from the third on "
                + "(the last in the two minutes the replay runs past the trace's end)");
        assertEquals(4L << 28, kept.disk().archiveBytesWritten());
        assertEquals(0, kept.disk().checkpointsMade(), "not popular enough for the popularity threshold");
        assertEquals(1, kept.vmsCreated());
        assertEquals(kept.residentVmSeconds() + 3 * (0.430 - 0.232), asCheckpoint.residentVmSeconds(), 1e-6,
                "each VM from the checkpoint answers 0.198 s sooner after its pre-warm");
        assertEquals(archived.disk(), asCheckpoint.disk(), "rest.checkpoint is on as shipped");
    }

    @Test
    void bothFormatsReadTheSameRequests(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("t.csv"), "t_ms,combination\n1000,a\n61000,b\n61500,a\n");
        Files.writeString(dir.resolve("t.json"), "{\"a\":{\"service\":\"wiki\"},\"b\":{\"service\":\"blog\","
                + "\"environment\":{\"os\":\"debian-12\"},\"securityLevel\":\"high\"}}");
        Trace farm = Trace.farm(dir.resolve("t.csv"), dir.resolve("t.json"));
        assertEquals(List.of("a", "b"), farm.names);
        assertEquals("high", farm.requests.get(1).securityLevel());
        assertEquals(3, farm.size());

        Files.writeString(dir.resolve("az.csv"), "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n"
                + "o,a,f1,http,1,0,2\no,a,f2,timer,0,1,0\n");
        Trace azure = Trace.azure2019(dir.resolve("az.csv"),
                ReplayTrace.offerings(TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg")), 7);
        assertEquals(List.of("f1", "f2"), azure.names);
        assertEquals(4, azure.size());
        long[] minuteOf = java.util.Arrays.stream(azure.times).map(t -> t / 60_000).toArray();
        assertEquals(List.of(0L, 1L, 2L, 2L), java.util.Arrays.stream(minuteOf).boxed().toList(),
                "each invocation within its minute");
        assertEquals(1, azure.combinations[1], "f2's one invocation in minute 2");

        // a sample of the dataset with its columns in another order, as In-Vitro publishes them, reads the same
        Files.writeString(dir.resolve("sample.csv"), "HashFunction,HashApp,HashOwner,minute_1,minute_2,minute_3\n"
                + "f1,a,o,1,0,2\nf2,a,o,0,1,0\n");
        Trace sample = Trace.azure2019(dir.resolve("sample.csv"),
                ReplayTrace.offerings(TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg")), 7);
        assertEquals(azure.names, sample.names);
        assertArrayEquals(azure.times, sample.times);
        assertArrayEquals(azure.combinations, sample.combinations);

        Files.writeString(dir.resolve("bad.csv"), "HashOwner,HashApp,Trigger,1,2\no,a,http,1,0\n");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Trace.azure2019(
                dir.resolve("bad.csv"), List.of(), 7));
        assertTrue(bad.getMessage().contains("no HashFunction column"), bad.getMessage());
        Files.writeString(dir.resolve("bad-count.csv"),
                "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,x\n");
        IllegalArgumentException notACount = assertThrows(IllegalArgumentException.class, () -> Trace.azure2019(
                dir.resolve("bad-count.csv"),
                ReplayTrace.offerings(TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg")), 7));
        assertTrue(notACount.getMessage().endsWith("bad-count.csv:2: minute 2 has 'x', not a count of invocations"),
                notACount.getMessage());
    }

    @Test
    void residentTimeIsWeighedByEachApplicationsMemory(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("day.csv"), "HashFunction,HashApp,HashOwner,minute_1,minute_2,minute_3\n"
                + "f1,a,o,1,0,1\nf2,b,o,0,1,0\n");
        Files.writeString(dir.resolve("mem.csv"), "HashOwner,HashApp,SampleCount,AverageAllocatedMb\n"
                + "o,a,5,512\no,b,5,2048\no,b,3,1024\n");
        Trace trace = Trace.azure2019(dir.resolve("day.csv"),
                ReplayTrace.offerings(TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg")), 7);
        assertEquals(List.of("a", "b"), trace.applications);
        ApplicationMemory memory = ApplicationMemory.read(dir.resolve("mem.csv"));
        memory.covers(trace);
        TraceReplay.Result r = replay(trace, ReplayTrace.FIXED_10_MIN);
        List<TraceReplay.Combination> each = r.combinations();
        assertTrue(each.get(0).residentVmSeconds() > 0 && each.get(1).residentVmSeconds() > 0);
        assertEquals(each.get(0).residentVmSeconds() / 3600 * 0.5 + each.get(1).residentVmSeconds() / 3600 * 2,
                memory.gibHours(trace, each), 1e-9, "a at 512 MB, b at its largest, 2048 MB");
        assertTrue(r.withResidentGiBHours(1.5).json().contains("\"residentVmSeconds\":" + Math.round(
                r.residentVmSeconds()) + ",\"residentGiBHours\":1.5,\"prewarms\""), r.withResidentGiBHours(1.5).json());
        assertTrue(!r.json().contains("residentGiBHours"), "not known without a memory file");

        Files.writeString(dir.resolve("some.csv"), "HashOwner,HashApp,SampleCount,AverageAllocatedMb\no,a,5,512\n");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> ApplicationMemory.read(dir.resolve("some.csv")).covers(trace));
        assertTrue(missing.getMessage().endsWith("has no memory for 1 of the trace's applications (b among them)"),
                missing.getMessage());
        Files.writeString(dir.resolve("columns.csv"), "HashOwner,HashApp,SampleCount\no,a,5\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ApplicationMemory.read(dir.resolve(
                "columns.csv"))).getMessage().contains("no HashApp or no AverageAllocatedMb column"));
        Files.writeString(dir.resolve("size.csv"), "HashApp,AverageAllocatedMb\na,lots\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ApplicationMemory.read(dir.resolve(
                "size.csv"))).getMessage().endsWith("size.csv:2: AverageAllocatedMb is 'lots', not a size in MB"));
    }

    @Test
    void aDayOfMoreFunctionsThanOfferingsReplaysASeededSampleOfThem(@TempDir Path dir) throws Exception {
        StringBuilder day = new StringBuilder("HashOwner,HashApp,HashFunction,Trigger,1,2\n");
        for (int f = 0; f < 200; f++) {
            day.append("o,a").append(f).append(",f").append(f).append(",http,1,").append(f % 3).append('\n');
        }
        Files.writeString(dir.resolve("day.csv"), day);
        List<org.servicefarm.api.Offering> offerings =
                ReplayTrace.offerings(TraceReplay.shippedConfig(ETC, "org.servicefarm.catalog.cfg"));
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> Trace.azure2019(dir.resolve("day.csv"), offerings, 7));
        assertTrue(tooMany.getMessage().contains("200 functions") && tooMany.getMessage().contains("--functions"),
                tooMany.getMessage());

        Trace sample = Trace.azure2019(dir.resolve("day.csv"), offerings, 7, 20);
        assertEquals(20, sample.names.size());
        assertEquals(sample.names, Trace.azure2019(dir.resolve("day.csv"), offerings, 7, 20).names, "seeded");
        assertTrue(!sample.names.equals(Trace.azure2019(dir.resolve("day.csv"), offerings, 8, 20).names),
                "another seed, another sample");
        List<Integer> numbers = sample.names.stream().map(name -> Integer.parseInt(name.substring(1))).toList();
        assertEquals(numbers.stream().sorted().toList(), numbers, "in the file's order");
        assertTrue(numbers.get(numbers.size() - 1) >= 20, "drawn from the whole file, not its first rows");
    }
}
