package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The replay commands' options: what they take, and the one line each mistake gets. */
class CommandLineTest {

    private static final Set<String> NAMES = Set.of("trace", "seed", "hours", "format", "policy");

    private static CommandLine parse(String... args) {
        return CommandLine.parse(args, NAMES, Set.of("policy"));
    }

    private static String problem(Runnable r) {
        return assertThrows(CommandLine.Invalid.class, r::run).getMessage();
    }

    @Test
    void takesKnownOptionsOnceAndARepeatableOneInOrder() {
        CommandLine options = parse("--trace", "t.csv", "--policy", "a", "--seed", "-3", "--policy", "b:x=1");
        assertEquals("t.csv", options.text("trace", null));
        assertEquals(List.of("a", "b:x=1"), options.all("policy"));
        assertEquals(-3, options.whole("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE));
        assertEquals(24.0, options.number("hours", 24, 0.1, 48), "not given: the default");
        assertEquals("farm", options.choice("format", "farm", "farm", "azure2019"));
    }

    @Test
    void aTypoAMissingValueOrARepeatIsRefused() {
        assertEquals("unknown option '--polcy'", problem(() -> parse("--polcy", "a")));
        assertEquals("unknown option 'trace.csv'", problem(() -> parse("trace.csv")));
        assertEquals("--trace needs a value", problem(() -> parse("--trace")));
        assertEquals("--seed is given twice", problem(() -> parse("--seed", "1", "--seed", "2")));
    }

    @Test
    void aValueOutOfItsRangeOrTypeNamesTheOptionAndTheValue() {
        assertEquals("--seed must be a whole number, not 'x'",
                problem(() -> parse("--seed", "x").whole("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE)));
        assertEquals("--seed must be a whole number of at least 1, not '0'",
                problem(() -> parse("--seed", "0").whole("seed", 0, 1, Long.MAX_VALUE)));
        assertEquals("--seed must be a whole number from 1 to 155, not '200'",
                problem(() -> parse("--seed", "200").whole("seed", 0, 1, 155)));
        assertEquals("--hours must be a number from 0.1 to 48, not 'NaN'",
                problem(() -> parse("--hours", "NaN").number("hours", 24, 0.1, 48)));
        assertEquals("--hours must be a number from 0.1 to 48, not '1e3'",
                problem(() -> parse("--hours", "1e3").number("hours", 24, 0.1, 48)));
        assertEquals("--format must be farm or azure2019, not 'csv'",
                problem(() -> parse("--format", "csv").choice("format", "farm", "farm", "azure2019")));
    }

    @Test
    void aPolicyOverrideMustNameOneOfItsSettingsAndBeOfItsType() throws Exception {
        Path etc = Path.of("..", "..", "etc");
        assertEquals("keepalive-histogram has no setting 'range.minute'; its settings: archive.tier, cv.threshold, "
                        + "destroy.after.s, fallback.keepAlive.s, forecast.margin, head.percentile, idleTimes.perMinute, "
                        + "margin, outOfBounds.max, prewarm.lead.s, range.minutes, samples.min, tail.percentile",
                problem(() -> policy(etc, "keepalive-histogram", "range.minute=60")));
        assertEquals("policy override 'range.minutes' must be key=value",
                problem(() -> policy(etc, "keepalive-histogram", "range.minutes")));
        assertEquals("no policy 'keepalive-lru' (keepalive-fixed, keepalive-histogram, keepalive-adaptive)",
                problem(() -> policy(etc, "keepalive-lru", "")));
        String wrongType = problem(() -> policy(etc, "keepalive-fixed", "sleep.after.s=ten"));
        assertEquals("keepalive-fixed: a setting is not of its type", wrongType.substring(0, wrongType.indexOf(" (")));
    }

    private static void policy(Path etc, String name, String overrides) {
        try {
            ReplayTrace.policy(etc, name, overrides);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
